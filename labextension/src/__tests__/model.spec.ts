import {
  assignedNames,
  cellNumber,
  codeSpans,
  labHint,
  describeJob,
  groupFlows,
  ICheckReport,
  isCheckReport,
  parseParameterValue,
  pipelineView,
  problemLabel,
  resolveCellIndex,
  runFormDefaults,
  stageFlows,
  stageViews
} from '../model';
import { ROLES } from '../tokens';

function report(overrides: Partial<ICheckReport> = {}): ICheckReport {
  return {
    schema: 'jupyter-mlprod/check',
    schema_version: 2,
    ok: true,
    stages: [
      {
        role: 'predict',
        cells: [{ index: 7, id: 'p', summary: 'y_pred = model.predict(X_test)' }],
        reads: ['model', 'X_test'],
        provides: ['y_pred']
      },
      {
        role: 'load',
        cells: [
          { index: 4, id: 'l2', summary: 'X = df' },
          { index: 2, id: 'l1', summary: 'df = read()' }
        ],
        reads: ['path'],
        provides: ['X_test']
      },
      {
        role: 'parameters',
        cells: [{ index: 0, id: 'par', summary: 'path = "x.csv"' }],
        reads: [],
        provides: ['path']
      }
    ],
    parameters: [
      {
        name: 'C',
        type: 'float',
        default: 0.5,
        default_repr: '0.5',
        comment: null,
        cell: 0,
        line: 1
      }
    ],
    flows: [
      { name: 'X_test', from_role: 'load', from_cell: 4, to_role: 'predict', to_cell: 7 },
      { name: 'path', from_role: 'parameters', from_cell: 0, to_role: 'load', to_cell: 2 },
      { name: 'X_test', from_role: 'load', from_cell: 4, to_role: 'predict', to_cell: 7 },
      { name: 'model', from_role: 'train', from_cell: 5, to_role: 'predict', to_cell: 7 }
    ],
    artifacts: ['model'],
    predict: {
      input: 'X_test',
      output: 'y_pred',
      input_source: 'inferred',
      output_source: 'metadata',
      reason: 'the predict cell reads X_test',
      input_candidates: ['X_test', 'X_new'],
      output_candidates: []
    },
    problems: [
      { severity: 'warning', code: 'w', message: 'late', cell: 9, line: 1 },
      { severity: 'warning', code: 'w', message: 'early', cell: 3, line: 2 },
      {
        severity: 'error',
        code: 'undefined-name',
        message: 'x is undefined',
        cell: 7,
        cell_id: 'p',
        line: 2
      },
      { severity: 'warning', code: 'g', message: 'global' }
    ],
    ...overrides
  };
}

describe('pipelineView', () => {
  it('orders stages by the pipeline order and cells by position, with role colours', () => {
    const view = pipelineView(report());
    expect(view.stages.map(s => s.role)).toEqual(['parameters', 'load', 'predict']);
    expect(view.stages[1].cells.map(c => c.index)).toEqual([2, 4]);
    expect(view.stages[0].colour).toBe(ROLES.find(r => r.tag === 'parameters')!.colour);
  });

  it('sorts problems errors first, then by cell, cell-less last', () => {
    const view = pipelineView(report());
    expect(view.problems.map(p => p.message)).toEqual([
      'x is undefined',
      'early',
      'late',
      'global'
    ]);
    expect(view.errorCount).toBe(1);
    expect(view.warningCount).toBe(3);
  });

  it('offers the candidates and keeps a chosen value that is not one', () => {
    const view = pipelineView(report());
    expect(view.predictInput).toEqual({
      value: 'X_test',
      source: 'inferred',
      options: ['X_test', 'X_new']
    });
    expect(view.predictOutput.options).toEqual(['y_pred']);
  });

  it('copes with a report without predict', () => {
    const view = pipelineView(report({ predict: null, flows: [], stages: [] }));
    expect(view.predictInput).toEqual({ value: '', source: '', options: [] });
    expect(view.stages).toEqual([]);
  });
});

describe('groupFlows', () => {
  it('groups names by stage pair in pipeline order, without duplicates', () => {
    expect(groupFlows(report().flows)).toEqual([
      { fromRole: 'parameters', toRole: 'load', names: ['path'] },
      { fromRole: 'load', toRole: 'predict', names: ['X_test'] },
      { fromRole: 'train', toRole: 'predict', names: ['model'] }
    ]);
  });
});

describe('isCheckReport', () => {
  it('accepts schema version 2 only', () => {
    expect(isCheckReport(report())).toBe(true);
    expect(isCheckReport({ ...report(), schema_version: 1 })).toBe(false);
    expect(isCheckReport({ ...report(), schema_version: 3 })).toBe(false);
    expect(isCheckReport({ message: 'bad' })).toBe(false);
    expect(isCheckReport(null)).toBe(false);
  });
});

describe('resolveCellIndex', () => {
  it('prefers the cell id over a stale index', () => {
    expect(resolveCellIndex(['a', 'b', 'c'], 0, 'c')).toBe(2);
  });

  it('falls back to the index, and null when out of range', () => {
    expect(resolveCellIndex(['a', 'b'], 1, 'gone')).toBe(1);
    expect(resolveCellIndex(['a'], 4, null)).toBeNull();
  });
});

describe('problemLabel', () => {
  it('names cell and line', () => {
    // The cell's 1-based number, as JupyterLab's status bar counts ("Cell 6/9").
    expect(problemLabel({ severity: 'error', code: 'c', message: 'm', cell: 5, line: 2 })).toBe(
      'cell 6, line 2: m'
    );
    expect(problemLabel({ severity: 'warning', code: 'c', message: 'm' })).toBe('m');
  });
});

describe('parseParameterValue', () => {
  it('reads scalars by type', () => {
    expect(parseParameterValue('int', ' 42 ')).toBe(42);
    expect(parseParameterValue('float', '1e-3')).toBe(0.001);
    expect(parseParameterValue('bool', 'True')).toBe(true);
    expect(parseParameterValue('bool', 'false')).toBe(false);
    expect(parseParameterValue('str', "'data/x.csv'")).toBe('data/x.csv');
    expect(parseParameterValue('str', 'plain')).toBe('plain');
    expect(parseParameterValue('int | None', 'None')).toBeNull();
  });

  it('reads Python container literals', () => {
    expect(parseParameterValue('list[int]', '[1, 2, 3,]')).toEqual([1, 2, 3]);
    expect(parseParameterValue('dict[str, bool]', "{'a': True}")).toEqual({ a: true });
    expect(parseParameterValue('tuple[int, int]', '(1, 2)')).toEqual([1, 2]);
  });

  it('rejects values of the wrong type', () => {
    expect(() => parseParameterValue('int', '1.5')).toThrow(/integer/);
    expect(() => parseParameterValue('float', 'abc')).toThrow(/number/);
    expect(() => parseParameterValue('bool', 'maybe')).toThrow(/True or False/);
    expect(() => parseParameterValue('list[int]', '[1,')).toThrow(/cannot read/);
  });
});

describe('jobs', () => {
  it('describes progress and the run form defaults', () => {
    expect(
      describeJob({
        job_id: 'j',
        kind: 'run',
        status: 'running',
        progress: { done: 3, total: 10 },
        result: null,
        message: ''
      })
    ).toBe('run: running, 3/10 cells');
    expect(runFormDefaults(report().parameters)).toEqual({ C: '0.5' });
  });
});

describe('stageFlows', () => {
  it('derives the flows from the stages, so summaries and flows agree', () => {
    const stages = stageViews([
      { role: 'predict', cells: [], reads: ['X_test', 'model'], provides: ['y_pred'] },
      { role: 'train', cells: [], reads: ['X_train', 'C'], provides: ['model'] },
      { role: 'load', cells: [], reads: ['path'], provides: ['X_train', 'X_test', 'y_test'] },
      { role: 'parameters', cells: [], reads: [], provides: ['path', 'C'] }
    ]);
    expect(stageFlows(stages)).toEqual([
      { fromRole: 'parameters', toRole: 'load', names: ['path'] },
      { fromRole: 'parameters', toRole: 'train', names: ['C'] },
      { fromRole: 'load', toRole: 'train', names: ['X_train'] },
      { fromRole: 'load', toRole: 'predict', names: ['X_test'] },
      { fromRole: 'train', toRole: 'predict', names: ['model'] }
    ]);
  });

  it('takes a name from the latest stage providing it and drops names no stage provides', () => {
    const stages = stageViews([
      { role: 'load', cells: [], reads: [], provides: ['df'] },
      { role: 'train', cells: [], reads: ['df', 'np'], provides: ['df'] },
      { role: 'predict', cells: [], reads: ['df'], provides: [] }
    ]);
    expect(stageFlows(stages)).toEqual([
      { fromRole: 'load', toRole: 'train', names: ['df'] },
      { fromRole: 'train', toRole: 'predict', names: ['df'] }
    ]);
  });

  it('is what the pipeline view shows as flows', () => {
    const view = pipelineView(report());
    expect(view.flows).toEqual([
      { fromRole: 'parameters', toRole: 'load', names: ['path'] },
      { fromRole: 'load', toRole: 'predict', names: ['X_test'] }
    ]);
  });
});

describe('pickers', () => {
  it('offers every name the predict cells read or bind, not only the inferred ones', () => {
    const view = pipelineView(
      report({
        stages: [
          {
            role: 'predict',
            cells: [{ index: 7, summary: 'y_pred = model.predict(X_test)' }],
            reads: ['model', 'X_test', 'threshold', 'C'],
            provides: ['y_pred', 'proba']
          }
        ],
        predict: {
          input: 'X_test',
          output: 'proba',
          input_candidates: ['X_test'],
          output_candidates: ['proba']
        }
      })
    );
    // `model` is an artifact and `C` a parameter: neither is data to predict on.
    expect(view.predictInput.options).toEqual(['X_test', 'threshold']);
    expect(view.predictOutput.options).toEqual(['proba', 'y_pred']);
  });

  it('carries the output column and the left-out statements', () => {
    const view = pipelineView(
      report({
        predict: {
          input: 'df',
          output: 'df',
          output_column: 'pred',
          input_candidates: [],
          output_candidates: []
        },
        left_out: [{ cell: 7, line: 3, code: "df.to_csv('out.csv')", reason: 'writes a file' }]
      })
    );
    expect(view.predictOutputColumn).toBe('pred');
    expect(view.leftOut.map(item => item.reason)).toEqual(['writes a file']);
  });
});

describe('cell numbers and code spans', () => {
  it('numbers cells from 1', () => {
    expect(cellNumber(0)).toBe(1);
    expect(cellNumber(18)).toBe(19);
  });

  it('splits backticked names out as code', () => {
    expect(codeSpans('`x` is read by `predict` here')).toEqual([
      { text: 'x', code: true },
      { text: ' is read by ', code: false },
      { text: 'predict', code: true },
      { text: ' here', code: false }
    ]);
    expect(codeSpans('no code')).toEqual([{ text: 'no code', code: false }]);
    expect(codeSpans('an odd ` backtick')).toEqual([{ text: 'an odd ` backtick', code: false }]);
  });
});

describe('labHint', () => {
  it('names lab actions, not command-line flags', () => {
    expect(labHint('pass --lift-paths to turn it into a parameter')).toBe(
      'tick "Lift hard-coded paths into parameters" in the Convert dialog to turn it into a parameter'
    );
    expect(labHint('pass --predict-input NAME or pick it in the Pipeline panel')).toBe(
      'pick the input under Predict in this panel'
    );
    expect(labHint('pass --predict-output with a variable the predict cell assigns')).toBe(
      'pick as the Predict output a variable the predict cell assigns'
    );
    expect(
      labHint("check --predict-input / --predict-output (or the Pipeline panel's pickers)")
    ).toBe("check the Predict pickers' Input and Output");
    expect(labHint('rename it')).toBe('rename it');
  });
});

describe('assignedNames', () => {
  it('reads the names top-level assignments bind', () => {
    expect(
      assignedNames(
        'y_pred = model.predict(X)\nproba, other = f()\nn: int = 3\n  inner = 1\nx == 2\n'
      )
    ).toEqual(['y_pred', 'proba', 'other', 'n']);
  });

  it('offers them as predict outputs', () => {
    const view = pipelineView(report(), ['proba', 'y_pred']);
    expect(view.predictOutput.options).toEqual(['y_pred', 'proba']);
  });
});
