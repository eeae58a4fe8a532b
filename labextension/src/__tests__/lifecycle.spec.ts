import {
  canRollback,
  driftText,
  formatDate,
  formatDuration,
  formatValue,
  historyLines,
  IRunSummary,
  IStoreView,
  phaseLine,
  runRows,
  runsDirFor,
  storeFor,
  summaryCard,
  versionRows
} from '../lifecycle';

function run(overrides: Partial<IRunSummary> = {}): IRunSummary {
  return {
    run_id: '20261201T100000000Z-aaaaaa',
    kind: 'run',
    status: 'succeeded',
    start: '2026-12-01T10:00:00Z',
    duration: 12.34,
    parameters: { alpha: 2.5, name: 'x' },
    notebook: 'work/nb.ipynb',
    run_dir: 'work/runs/20261201T100000000Z-aaaaaa',
    executed_notebook: 'work/runs/20261201T100000000Z-aaaaaa/nb.ipynb',
    error: null,
    verify: null,
    ...overrides
  };
}

function store(overrides: Partial<IStoreView> = {}): IStoreView {
  return {
    store: 'pkg/models',
    exists: true,
    versions: [
      {
        version: 'v1',
        created: '2026-12-01T09:00:00Z',
        metrics: { accuracy: 0.81 },
        params: { alpha: 0.1 },
        aliases: ['production'],
        profiled: false,
        drift: null,
        problem: null
      },
      {
        version: 'v10',
        created: '2026-12-01T11:00:00Z',
        metrics: { accuracy: 0.9, f1: 0.8 },
        params: {},
        aliases: [],
        profiled: true,
        drift: { checks: 3, drifted: true, last: '2026-12-01T12:00:00Z', alerts: ['x drifted'] },
        problem: null
      },
      {
        version: 'v2',
        created: null,
        metrics: {},
        params: {},
        aliases: [],
        drift: null,
        problem: 'pkg/models/v2/manifest.json: unreadable manifest'
      }
    ],
    aliases: { production: { version: 'v1', previous: null } },
    history: [
      {
        alias: 'production',
        action: 'promote',
        version: 'v1',
        previous: null,
        time: '2026-12-01T09:30:00Z'
      }
    ],
    monitoring: true,
    ...overrides
  };
}

describe('formatting', () => {
  it('formats values, durations and dates for people', () => {
    expect(formatValue('text')).toBe('text');
    expect(formatValue(0.1 + 0.2)).toBe('0.3');
    expect(formatValue([1, 2])).toBe('[1,2]');
    expect(formatValue('x'.repeat(100), 10)).toBe('xxxxxxxxx…');
    expect(formatDuration(0.44)).toBe('0.4 s');
    expect(formatDuration(125)).toBe('2 min 5 s');
    expect(formatDuration(null)).toBe('—');
    expect(formatDate('2026-12-01T10:00:00Z')).toBe('2026-12-01 10:00:00 UTC');
    expect(formatDate(undefined)).toBe('—');
  });
});

describe('phaseLine', () => {
  it('names the phase, with cells only while the notebook executes', () => {
    const job = {
      job_id: 'j',
      kind: 'verify' as const,
      status: 'running' as const,
      progress: { done: 21, total: 21 }
    };
    expect(phaseLine({ ...job, phase: 'executing notebook' })).toBe(
      'Verify: executing notebook… (21/21 cells)'
    );
    expect(phaseLine({ ...job, phase: 'training package' })).toBe('Verify: training package…');
    expect(phaseLine({ ...job, phase: '' })).toBe('Verify: starting…');
    expect(phaseLine({ ...job, kind: 'run', status: 'failed' })).toBe('Run: failed');
  });
});

describe('summaryCard', () => {
  it('shows a run: status, duration, parameters as injected, links', () => {
    const card = summaryCard(run());
    expect(card.title).toBe('Headless run succeeded');
    expect(card.rows).toContainEqual(['Duration', '12.3 s']);
    expect(card.parameters).toEqual([
      ['alpha', '2.5'],
      ['name', 'x']
    ]);
    expect(card.metrics).toEqual([]);
    expect(card.executedNotebook).toBe('work/runs/20261201T100000000Z-aaaaaa/nb.ipynb');
    expect(card.runDir).toBe('work/runs/20261201T100000000Z-aaaaaa');
  });

  it('shows a failed cell by its 1-based number', () => {
    const card = summaryCard(
      run({
        status: 'failed',
        error: { cell_index: 4, cell_number: 5, ename: 'ValueError', evalue: 'bad' }
      })
    );
    expect(card.rows).toContainEqual(['Error', 'cell 5: ValueError: bad']);
    expect(card.headline).toBe('failed');
  });

  it('shows a mismatch: metrics and the first differing rows', () => {
    const card = summaryCard(
      run({
        kind: 'verify',
        status: 'failed',
        verify: {
          ok: false,
          rows: 100,
          mismatches: 2,
          first_differences: [{ row: 3, column: 'y_pred', notebook: 1, package: 0 }],
          predict_input: 'X_test',
          predict_output: 'y_pred',
          durations: { notebook: 2, train: 1.5, predict: 0.25 },
          metrics: { accuracy: 0.9 },
          message: '2 of 100 rows differ'
        }
      })
    );
    expect(card.title).toBe('Verification failed');
    expect(card.headline).toBe('2 of 100 rows differ');
    expect(card.metrics).toEqual([['accuracy', '0.9']]);
    expect(card.differences).toEqual([{ row: '3', column: 'y_pred', notebook: '1', package: '0' }]);
    expect(card.rows).toContainEqual(['Predict', 'X_test → y_pred']);
    expect(card.rows).toContainEqual(['Package', 'train 1.5 s, predict 0.3 s']);
  });
});

describe('runRows', () => {
  it('lists newest first with parameters and durations', () => {
    const rows = runRows([
      run(),
      run({ run_id: '20261201T110000000Z-bbbbbb', parameters: {}, kind: 'verify' })
    ]);
    expect(rows.map(row => row.id)).toEqual([
      '20261201T110000000Z-bbbbbb',
      '20261201T100000000Z-aaaaaa'
    ]);
    expect(rows[0].parameters).toBe('(defaults)');
    expect(rows[0].kind).toBe('verify');
    expect(rows[1].parameters).toBe('alpha=2.5, name=x');
    expect(rows[1].date).toBe('2026-12-01 10:00:00 UTC');
  });
});

describe('paths', () => {
  it('puts runs next to the notebook and the store in the package', () => {
    expect(runsDirFor('work/nb.ipynb', undefined)).toBe('work/runs');
    expect(runsDirFor('nb.ipynb', 'my_runs')).toBe('my_runs');
    expect(runsDirFor('a/b/nb.ipynb', './out/runs')).toBe('a/b/out/runs');
    expect(storeFor('work/nb_package')).toBe('work/nb_package/models');
  });
});

describe('versionRows', () => {
  it('orders versions by number and says what can be promoted', () => {
    const rows = versionRows(store(), 'production');
    expect(rows.map(row => row.version)).toEqual(['v10', 'v2', 'v1']);
    const [v10, v2, v1] = rows;
    expect(v10.promotable).toBe(true);
    expect(v2.promotable).toBe(false);
    expect(v2.problem).toContain('unreadable manifest');
    expect(v1.promotable).toBe(false);
    expect(v1.aliases).toEqual(['production']);
    expect(v10.metrics).toBe('accuracy 0.9, f1 0.8');
    expect(v1.params).toBe('alpha=0.1');
    expect(v10.drift).toBe('drifted (3 checks)');
    expect(v10.driftState).toBe('drifted');
    expect(v10.alerts).toEqual(['x drifted']);
    expect(v1.driftState).toBe('none');
    expect(versionRows(store(), 'staging').every(row => row.promotable === !row.problem)).toBe(
      true
    );
  });

  it('degrades when there is no monitoring data', () => {
    expect(driftText(null, false)).toBe('no monitoring data');
    expect(driftText(undefined, true)).toBe('no drift checks yet');
    expect(driftText({ checks: 1, drifted: false, last: null, alerts: [] }, true)).toBe(
      'no drift (1 check)'
    );
  });

  it('rolls back only an alias with an earlier version', () => {
    expect(canRollback(store(), 'production')).toBe(false);
    const promoted = store({ aliases: { production: { version: 'v10', previous: 'v1' } } });
    expect(canRollback(promoted, 'production')).toBe(true);
    expect(canRollback(promoted, 'staging')).toBe(false);
  });

  it('writes the history as lines', () => {
    const view = store({
      history: [
        { alias: 'production', action: 'rollback', version: 'v1', previous: 'v10', time: 't' },
        { alias: 'production', action: 'promote', version: 'v10', previous: 'v1' }
      ]
    });
    expect(historyLines(view).map(line => line.text)).toEqual([
      'rollback production → v1 (was v10)',
      'promote production → v10 (was v1)'
    ]);
  });
});
