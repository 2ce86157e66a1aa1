// The domain's pictures: stained cell slides. Pink fibrous tissue, a few cells of four types
// (told apart by size, cytoplasm colour and nucleus), sometimes one cell dividing (pinched in
// two, with two nuclei). The same grid grammar as the general scenes, but nothing in it looks
// like a flat geometric shape, so a model trained on the general pictures meets new visuals.
import type { PyRandom } from '../../core/pyrandom';
import { placeInCells, type Placement } from './layout';
import { chance, intIn, uniform } from './streams';

export const CELL_TYPES = ['lymphocyte', 'neutrophil', 'erythrocyte', 'macrophage'] as const;
export type CellType = (typeof CELL_TYPES)[number];
export const CELL_PLURALS: Record<CellType, string> = { lymphocyte: 'lymphocytes', neutrophil: 'neutrophils', erythrocyte: 'erythrocytes', macrophage: 'macrophages' };
/** Erythrocytes have no nucleus, so only these can be seen dividing. */
export const NUCLEATED: readonly CellType[] = ['lymphocyte', 'neutrophil', 'macrophage'];

export const STAINS = ['light', 'heavy'] as const;
export type Stain = (typeof STAINS)[number];

export interface Cell extends Placement {
  type: CellType;
  dividing: boolean;
  /** orientation in degrees, and a size factor around the type's size */
  angle: number;
  scale: number;
}

export interface Slide {
  stain: Stain;
  cells: Cell[];
  /** the tissue texture, drawn in the scene so rendering stays a pure function */
  fibres: { x0: number; y0: number; cx: number; cy: number; x1: number; y1: number; w: number }[];
  specks: { x: number; y: number; r: number }[];
}

export const MIN_CELLS = 2;
export const MAX_CELLS = 6;

/** Lymphocytes and erythrocytes are the common cells of a smear; neutrophils and macrophages rarer. */
const TYPE_WEIGHTS = [3, 2, 3, 2];

export function sampleSlide(r: PyRandom): Slide {
  const stain = r.choice(STAINS);
  const cells = placeInCells(r, intIn(r, MIN_CELLS, MAX_CELLS)).map(
    (p): Cell => ({ ...p, type: r.weightedChoice(CELL_TYPES, TYPE_WEIGHTS), dividing: false, angle: intIn(r, 0, 179), scale: uniform(r, 0.9, 1.05) }),
  );
  const nucleated = cells.filter((c) => NUCLEATED.includes(c.type));
  if (nucleated.length > 0 && chance(r, 0.45)) r.choice(nucleated).dividing = true;
  const fibres = Array.from({ length: intIn(r, 6, 12) }, () => {
    const [x0, y0] = [r.random(), r.random()];
    const [x1, y1] = [x0 + uniform(r, -0.5, 0.5), y0 + uniform(r, -0.5, 0.5)];
    return { x0, y0, cx: (x0 + x1) / 2 + uniform(r, -0.15, 0.15), cy: (y0 + y1) / 2 + uniform(r, -0.15, 0.15), x1, y1, w: uniform(r, 0.004, 0.012) };
  });
  const specks = Array.from({ length: intIn(r, 15, 30) }, () => ({ x: r.random(), y: r.random(), r: uniform(r, 0.004, 0.01) }));
  return { stain, cells, fibres, specks };
}

const TISSUE: Record<Stain, { ground: string; fibre: string; speck: string }> = {
  light: { ground: '#f6d9e7', fibre: '#d99bbd', speck: '#b57aa3' },
  heavy: { ground: '#e2a2c6', fibre: '#b85f93', speck: '#8e4a86' },
};

/** Per type: body radius (fraction of side), body and nucleus colours. */
const LOOK: Record<CellType, { rx: number; ry: number; body: string; nucleus: string }> = {
  lymphocyte: { rx: 0.065, ry: 0.065, body: '#b8a6dc', nucleus: '#3b1d6b' },
  neutrophil: { rx: 0.095, ry: 0.09, body: '#ecc9df', nucleus: '#4b2474' },
  erythrocyte: { rx: 0.075, ry: 0.075, body: '#d63c5a', nucleus: '#ef95a5' },
  macrophage: { rx: 0.13, ry: 0.1, body: '#cbb3df', nucleus: '#54317c' },
};

const f = (v: number) => v.toFixed(2);

/** One cell body with its nucleus, centred at the origin (the caller translates and rotates). */
function cellBody(type: CellType, side: number, k: number): string {
  const l = LOOK[type];
  const rx = l.rx * side * k;
  const ry = l.ry * side * k;
  const body = `<ellipse rx="${f(rx)}" ry="${f(ry)}" fill="${l.body}" stroke="#8f5f95" stroke-width="${f(side / 160)}"/>`;
  switch (type) {
    case 'lymphocyte':
      return body + `<circle r="${f(rx * 0.78)}" fill="${l.nucleus}"/>`;
    case 'neutrophil': {
      // the multi-lobed nucleus: three lobes on an arc
      const lobes = [-1, 0, 1].map((i) => `<circle cx="${f(i * rx * 0.38)}" cy="${f(Math.abs(i) * ry * 0.22)}" r="${f(rx * 0.26)}" fill="${l.nucleus}"/>`);
      return body + lobes.join('');
    }
    case 'erythrocyte':
      // no nucleus: a pale centre instead
      return body + `<circle r="${f(rx * 0.42)}" fill="${l.nucleus}"/>`;
    case 'macrophage': {
      const vacuoles = [
        [-0.45, -0.3],
        [-0.5, 0.3],
      ].map(([x, y]) => `<circle cx="${f(x * rx)}" cy="${f(y * ry)}" r="${f(rx * 0.12)}" fill="#efe6f5"/>`);
      return body + vacuoles.join('') + `<ellipse cx="${f(rx * 0.35)}" rx="${f(rx * 0.38)}" ry="${f(ry * 0.42)}" fill="${l.nucleus}"/>`;
    }
  }
}

function cellSvg(c: Cell, side: number): string {
  const at = `translate(${f(c.x * side)} ${f(c.y * side)}) rotate(${c.angle})`;
  if (!c.dividing) return `<g transform="${at}">${cellBody(c.type, side, c.scale)}</g>`;
  // Two smaller daughters side by side along the cell's axis, overlapping at the waist.
  const dx = LOOK[c.type].rx * side * 0.36;
  const half = (sign: number) => `<g transform="translate(${f(sign * dx)} 0)">${cellBody(c.type, side, 0.7)}</g>`;
  return `<g transform="${at}">${half(-1)}${half(1)}</g>`;
}

export function slideSvg(s: Slide, side: number): string {
  const t = TISSUE[s.stain];
  const fibres = s.fibres
    .map(
      (q) =>
        `<path d="M${f(q.x0 * side)} ${f(q.y0 * side)} Q${f(q.cx * side)} ${f(q.cy * side)} ${f(q.x1 * side)} ${f(q.y1 * side)}" stroke="${t.fibre}" stroke-width="${f(q.w * side)}" fill="none" stroke-opacity="0.6"/>`,
    )
    .join('');
  const specks = s.specks.map((p) => `<circle cx="${f(p.x * side)}" cy="${f(p.y * side)}" r="${f(p.r * side)}" fill="${t.speck}" fill-opacity="0.5"/>`).join('');
  const cells = s.cells.map((c) => cellSvg(c, side)).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${side}" height="${side}" viewBox="0 0 ${side} ${side}"><rect width="${side}" height="${side}" fill="${t.ground}"/>${fibres}${specks}${cells}</svg>`;
}
