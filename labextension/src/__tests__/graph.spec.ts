import { edgeLabel, graphView, LABEL_LIMIT, NODE_HEIGHT } from '../graph';
import { stageFlows, stageViews } from '../model';

const stages = stageViews([
  { role: 'parameters', cells: [{ index: 1, summary: 'C = 1' }], reads: [], provides: ['C'] },
  {
    role: 'load',
    cells: [
      { index: 5, id: 'b', summary: 'X = f(df)' },
      { index: 3, id: 'a', summary: 'df = read()' }
    ],
    reads: [],
    provides: ['X_train', 'X_test']
  },
  {
    role: 'train',
    cells: [{ index: 7, summary: 'fit' }],
    reads: ['X_train', 'C'],
    provides: ['model']
  },
  { role: 'predict', cells: [{ index: 9, summary: 'p' }], reads: ['X_test', 'model'], provides: [] }
]);

describe('graphView', () => {
  const view = graphView(stages, stageFlows(stages));

  it('has one node per stage, top to bottom in pipeline order', () => {
    expect(view.nodes.map(node => node.role)).toEqual(['parameters', 'load', 'train', 'predict']);
    const ys = view.nodes.map(node => node.y);
    expect([...ys].sort((a, b) => a - b)).toEqual(ys);
    expect(view.height).toBeGreaterThanOrEqual(ys[ys.length - 1] + NODE_HEIGHT);
  });

  it('points each node at its first cell', () => {
    expect(view.nodes[1].firstCell).toEqual({ index: 3, id: 'a', summary: 'df = read()' });
    expect(view.nodes[1].caption).toBe('load · 2 cells');
    expect(view.nodes[0].caption).toBe('parameters · 1 cell');
  });

  it('labels one edge per pair of stages with the names flowing', () => {
    expect(view.edges.map(edge => [edge.fromRole, edge.toRole, edge.label])).toEqual([
      ['parameters', 'train', 'C'],
      ['load', 'train', 'X_train'],
      ['load', 'predict', 'X_test'],
      ['train', 'predict', 'model']
    ]);
  });

  it('draws neighbours straight and skips as arcs on the right', () => {
    const straight = view.edges.find(edge => edge.fromRole === 'load' && edge.toRole === 'train')!;
    expect(straight.path).toMatch(/^M [\d.]+ [\d.]+ L /);
    const arc = view.edges.find(edge => edge.fromRole === 'parameters')!;
    expect(arc.path).toMatch(/ C /);
    const wider = graphView(stages, [{ fromRole: 'parameters', toRole: 'predict', names: ['C'] }]);
    expect(wider.edges[0].labelX).toBeGreaterThan(arc.labelX);
    expect(view.width).toBeGreaterThan(wider.edges[0].labelX);
  });

  it('ignores flows from or to a stage it does not draw', () => {
    const partial = graphView(stages.slice(0, 2), [
      { fromRole: 'load', toRole: 'predict', names: ['X_test'] }
    ]);
    expect(partial.edges).toEqual([]);
  });

  it('copes with no stages', () => {
    const empty = graphView([], []);
    expect(empty.nodes).toEqual([]);
    expect(empty.height).toBeGreaterThan(0);
  });
});

describe('edgeLabel', () => {
  it('shortens long name lists with an ellipsis', () => {
    expect(edgeLabel(['a', 'b'])).toBe('a, b');
    const long = edgeLabel(['categorical_features', 'numeric_features', 'X_train']);
    expect(long.length).toBeLessThanOrEqual(LABEL_LIMIT);
    expect(long.endsWith('…')).toBe(true);
  });
});
