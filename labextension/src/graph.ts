/**
 * The pipeline graph: the stages as nodes and the variables flowing between them as
 * labelled edges, drawn as SVG. `graphView` is the pure layout (unit-tested); `renderGraph`
 * turns it into elements styled by JupyterLab's theme variables, so both themes work.
 */

import { IFlowView, IReportCell, IStageView } from './model';

/** Node size and spacing, in SVG user units (px at 100 % zoom). */
export const NODE_WIDTH = 132;
export const NODE_HEIGHT = 34;
export const NODE_GAP = 46;
const MARGIN = 8;
/** Room right of the nodes for arcs between stages that are not neighbours, and labels. */
const SIDE_ROOM = 150;
/** Longest edge label before it is shortened (the full list is the edge's tooltip). */
export const LABEL_LIMIT = 24;

export interface IGraphNode {
  role: string;
  /** The colour of the role (a CSS value). */
  colour: string;
  x: number;
  y: number;
  width: number;
  height: number;
  /** `load · 3 cells`. */
  caption: string;
  /** The stage's first cell, where a click on the node goes; null for a stage without. */
  firstCell: IReportCell | null;
}

export interface IGraphEdge {
  fromRole: string;
  toRole: string;
  names: string[];
  /** The label drawn: the names, shortened to `LABEL_LIMIT` characters. */
  label: string;
  /** SVG path data from the source node to the target node. */
  path: string;
  labelX: number;
  labelY: number;
}

export interface IGraphView {
  width: number;
  height: number;
  nodes: IGraphNode[];
  edges: IGraphEdge[];
}

/** The names as one label, shortened with an ellipsis past `limit` characters. */
export function edgeLabel(names: readonly string[], limit = LABEL_LIMIT): string {
  const full = names.join(', ');
  return full.length <= limit ? full : `${full.slice(0, limit - 1).trimEnd()}…`;
}

/**
 * Lay the stages out top to bottom in the order given (pipeline order): an edge between
 * neighbours is a straight line down the middle, an edge that skips stages an arc on the
 * right, wider the more stages it skips so that arcs do not overlap.
 */
export function graphView(stages: readonly IStageView[], flows: readonly IFlowView[]): IGraphView {
  const nodes: IGraphNode[] = stages.map((stage, at) => ({
    role: stage.role,
    colour: stage.colour,
    x: MARGIN,
    y: MARGIN + at * (NODE_HEIGHT + NODE_GAP),
    width: NODE_WIDTH,
    height: NODE_HEIGHT,
    caption: `${stage.role} · ${stage.cells.length} cell${stage.cells.length === 1 ? '' : 's'}`,
    firstCell: stage.cells.length ? stage.cells[0] : null
  }));
  const position = new Map(nodes.map((node, at) => [node.role, at]));
  const edges: IGraphEdge[] = [];
  for (const flow of flows) {
    const from = position.get(flow.fromRole);
    const to = position.get(flow.toRole);
    if (from === undefined || to === undefined || from === to) {
      continue;
    }
    const source = nodes[from];
    const target = nodes[to];
    const span = Math.abs(to - from);
    const label = edgeLabel(flow.names);
    if (span === 1) {
      const x = source.x + source.width / 2;
      const top = Math.min(source.y, target.y) + NODE_HEIGHT;
      const bottom = Math.max(source.y, target.y);
      const [y1, y2] = to > from ? [top, bottom] : [bottom, top];
      edges.push({
        fromRole: flow.fromRole,
        toRole: flow.toRole,
        names: [...flow.names],
        label,
        path: `M ${x} ${y1} L ${x} ${y2}`,
        labelX: x + 8,
        labelY: (top + bottom) / 2 + 4
      });
    } else {
      const x = source.x + source.width;
      const y1 = source.y + NODE_HEIGHT / 2;
      const y2 = target.y + NODE_HEIGHT / 2;
      const bulge = 18 + 16 * span;
      edges.push({
        fromRole: flow.fromRole,
        toRole: flow.toRole,
        names: [...flow.names],
        label,
        path: `M ${x} ${y1} C ${x + bulge} ${y1}, ${x + bulge} ${y2}, ${x} ${y2}`,
        labelX: x + bulge * 0.75 + 4,
        labelY: (y1 + y2) / 2 + 4
      });
    }
  }
  const height = nodes.length ? nodes[nodes.length - 1].y + NODE_HEIGHT + MARGIN : 2 * MARGIN;
  return { width: MARGIN + NODE_WIDTH + SIDE_ROOM, height, nodes, edges };
}

const SVG_NS = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
  ...children: (Node | null)[]
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes)) {
    node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child) {
      node.appendChild(child);
    }
  }
  return node;
}

function tooltip(text: string): SVGTitleElement {
  const title = svg('title', {});
  title.textContent = text;
  return title;
}

/** Draw the graph; `onNode` runs when a node is clicked (or activated with Enter). */
export function renderGraph(view: IGraphView, onNode: (node: IGraphNode) => void): SVGSVGElement {
  const root = svg('svg', {
    class: 'jp-mlprod-graph',
    width: view.width,
    height: view.height,
    viewBox: `0 0 ${view.width} ${view.height}`,
    role: 'img',
    'aria-label': 'Pipeline graph'
  });
  const marker = svg(
    'marker',
    {
      id: 'jp-mlprod-arrow',
      viewBox: '0 0 8 8',
      refX: 7,
      refY: 4,
      markerWidth: 7,
      markerHeight: 7,
      orient: 'auto-start-reverse'
    },
    svg('path', { d: 'M 0 0 L 8 4 L 0 8 z', class: 'jp-mlprod-graph-arrowhead' })
  );
  root.appendChild(svg('defs', {}, marker));
  for (const edge of view.edges) {
    const text = svg('text', { class: 'jp-mlprod-graph-label', x: edge.labelX, y: edge.labelY });
    text.textContent = edge.label;
    root.appendChild(
      svg(
        'g',
        {
          class: 'jp-mlprod-graph-edge',
          'data-from': edge.fromRole,
          'data-to': edge.toRole
        },
        tooltip(`${edge.fromRole} → ${edge.toRole}: ${edge.names.join(', ')}`),
        svg('path', { d: edge.path, 'marker-end': 'url(#jp-mlprod-arrow)' }),
        text
      )
    );
  }
  for (const node of view.nodes) {
    const caption = svg('text', {
      x: node.x + node.width / 2,
      y: node.y + node.height / 2 + 4,
      'text-anchor': 'middle'
    });
    caption.textContent = node.caption;
    const group = svg(
      'g',
      {
        class: 'jp-mlprod-graph-node',
        'data-role': node.role,
        tabindex: 0,
        role: 'button',
        style: `--jp-mlprod-role-colour: var(--jp-mlprod-${node.role}, ${node.colour})`
      },
      tooltip(node.firstCell ? `Go to the first ${node.role} cell` : node.role),
      svg('rect', {
        x: node.x,
        y: node.y,
        width: node.width,
        height: node.height,
        rx: 6
      }),
      caption
    );
    group.addEventListener('click', () => onNode(node));
    group.addEventListener('keydown', event => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        onNode(node);
      }
    });
    root.appendChild(group);
  }
  return root;
}
