import {
  cellRole,
  defaultOutputDir,
  IMetadataHost,
  parseRoleChoice,
  planRoleChanges,
  readPredictChoice,
  readTags,
  roleOf,
  setCellRole,
  setPredictChoice,
  tagsWithRole
} from '../commands';

/** A metadata host recording calls, like a cell or notebook model. */
class FakeModel implements IMetadataHost {
  constructor(public metadata: Record<string, unknown> = {}) {}
  writes = 0;
  getMetadata(key: string): unknown {
    return this.metadata[key];
  }
  setMetadata(key: string, value: unknown): void {
    this.writes++;
    this.metadata[key] = value;
  }
  deleteMetadata(key: string): unknown {
    this.writes++;
    const old = this.metadata[key];
    delete this.metadata[key];
    return old;
  }
}

describe('tagsWithRole', () => {
  it('appends a role to a cell without one', () => {
    expect(tagsWithRole(['keep'], 'load')).toEqual(['keep', 'load']);
  });

  it('replaces the previous role in place and keeps unrelated tags', () => {
    expect(tagsWithRole(['a', 'load', 'b'], 'train')).toEqual(['a', 'train', 'b']);
  });

  it('removes every role tag when a cell had several', () => {
    expect(tagsWithRole(['train', 'x', 'skip', 'predict'], 'predict')).toEqual(['predict', 'x']);
  });

  it('removes the role for none, keeping the rest', () => {
    expect(tagsWithRole(['injected-parameters', 'parameters', 'mine'], 'none')).toEqual([
      'injected-parameters',
      'mine'
    ]);
  });

  it('is idempotent', () => {
    const once = tagsWithRole(['x', 'skip'], 'skip');
    expect(tagsWithRole(once, 'skip')).toEqual(once);
  });

  it('drops duplicate unrelated tags', () => {
    expect(tagsWithRole(['x', 'x'], 'load')).toEqual(['x', 'load']);
  });
});

describe('roleOf and readTags', () => {
  it('finds the first role tag', () => {
    expect(roleOf(['x', 'train', 'load'])).toBe('train');
    expect(roleOf(['x'])).toBeNull();
  });

  it('ignores malformed tag metadata', () => {
    expect(readTags('load')).toEqual([]);
    expect(readTags(['load', 3, null])).toEqual(['load']);
  });

  it('parses role choices from command arguments', () => {
    expect(parseRoleChoice('predict')).toBe('predict');
    expect(parseRoleChoice('none')).toBe('none');
    expect(parseRoleChoice('Train')).toBeNull();
    expect(parseRoleChoice(undefined)).toBeNull();
  });
});

describe('setCellRole', () => {
  it('writes through the metadata API', () => {
    const cell = new FakeModel({ tags: ['keep'] });
    expect(setCellRole(cell, 'load')).toBe(true);
    expect(cell.metadata.tags).toEqual(['keep', 'load']);
    expect(cellRole(cell)).toBe('load');
  });

  it('does not touch an unchanged cell', () => {
    const cell = new FakeModel({ tags: ['load'] });
    expect(setCellRole(cell, 'load')).toBe(false);
    expect(cell.writes).toBe(0);
  });

  it('deletes the tags key when none is left', () => {
    const cell = new FakeModel({ tags: ['skip'], other: 1 });
    setCellRole(cell, 'none');
    expect('tags' in cell.metadata).toBe(false);
    expect(cell.metadata.other).toBe(1);
  });
});

describe('predict choice', () => {
  it('stores one field and keeps the other and unknown keys', () => {
    const nb = new FakeModel({ mlprod: { predict_output: 'y_pred', extra: true } });
    expect(setPredictChoice(nb, 'predict_input', 'X_test')).toBe(true);
    expect(nb.metadata.mlprod).toEqual({
      predict_output: 'y_pred',
      extra: true,
      predict_input: 'X_test'
    });
  });

  it('removes a field on empty value, and the key when empty', () => {
    const nb = new FakeModel({ mlprod: { predict_input: 'X' } });
    setPredictChoice(nb, 'predict_input', '');
    expect('mlprod' in nb.metadata).toBe(false);
  });

  it('does not write an unchanged value', () => {
    const nb = new FakeModel({ mlprod: { predict_input: 'X' } });
    expect(setPredictChoice(nb, 'predict_input', 'X')).toBe(false);
    expect(setPredictChoice(nb, 'predict_output', '')).toBe(false);
    expect(nb.writes).toBe(0);
  });

  it('reads only string fields', () => {
    expect(readPredictChoice({ predict_input: 'X', predict_output: 3 })).toEqual({
      predict_input: 'X'
    });
    expect(readPredictChoice(null)).toEqual({});
  });
});

describe('defaultOutputDir', () => {
  it('places the package beside the notebook', () => {
    expect(defaultOutputDir('work/churn.ipynb', '{stem}_package')).toBe('work/churn_package');
    expect(defaultOutputDir('churn.ipynb', '{stem}_package')).toBe('churn_package');
  });

  it('accepts a root-relative template and an empty one', () => {
    expect(defaultOutputDir('a/b/nb.ipynb', '/packages/{stem}')).toBe('packages/nb');
    expect(defaultOutputDir('nb.ipynb', '')).toBe('nb_package');
  });
});

describe('planRoleChanges', () => {
  const suggestions = [
    { cell: 0, role: null, reason: 'imports only' },
    { cell: 1, role: 'parameters', reason: 'assigns literals' },
    { cell: 2, role: 'load', reason: 'reads data (pd.read_csv)' },
    { cell: 4, role: 'train', reason: 'fits (model.fit)' },
    { cell: 5, role: 'predict', reason: 'predicts on held-out data (X_test)' }
  ];

  it('gives untagged code cells the suggested role, with the reason', () => {
    expect(planRoleChanges([null, null, null, undefined, null, null], suggestions)).toEqual([
      { index: 1, from: null, to: 'parameters', reason: 'assigns literals' },
      { index: 2, from: null, to: 'load', reason: 'reads data (pd.read_csv)' },
      { index: 4, from: null, to: 'train', reason: 'fits (model.fit)' },
      { index: 5, from: null, to: 'predict', reason: 'predicts on held-out data (X_test)' }
    ]);
  });

  it('keeps the roles the author chose and never adds a second predict cell', () => {
    const changes = planRoleChanges(
      ['skip', null, 'train', undefined, null, null],
      [...suggestions, { cell: 6, role: 'predict', reason: 'predicts again' }]
    );
    expect(changes.map(change => [change.index, change.to])).toEqual([
      [1, 'parameters'],
      [4, 'train'],
      [5, 'predict']
    ]);
    expect(
      planRoleChanges([null, null, null, undefined, null, 'predict'], suggestions).map(
        change => change.index
      )
    ).toEqual([1, 2, 4]);
  });
});
