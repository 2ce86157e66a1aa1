// The general distribution's pictures: flat coloured geometric shapes on a plain or patterned
// background, the stand-in for the everyday photos of the paper's general seed data. A scene
// is data; the SVG is a pure function of the scene and the side, so the same scene always
// renders to the same pixels.
import type { PyRandom } from '../../core/pyrandom';
import { placeInCells, type Placement } from './layout';
import { chance, intIn } from './streams';

export const SHAPES = ['circle', 'square', 'triangle', 'cross'] as const;
export type ShapeName = (typeof SHAPES)[number];
export const SHAPE_PLURALS: Record<ShapeName, string> = { circle: 'circles', square: 'squares', triangle: 'triangles', cross: 'crosses' };

/** Saturated colours that stand out on every background below (no pink or violet: those are the domain's). */
export const COLOURS = { red: '#d62728', green: '#2ca02c', blue: '#1f5fd6', yellow: '#e8b800', orange: '#ff7f0e', black: '#222222' } as const;
export type ColourName = keyof typeof COLOURS;
export const COLOUR_NAMES = Object.keys(COLOURS) as ColourName[];

export const SIZES = ['small', 'large'] as const;
export type SizeName = (typeof SIZES)[number];
/** Radius as a fraction of the side: apart by a factor of 1.75 so size is visible at 112 px. */
const RADIUS: Record<SizeName, number> = { small: 0.075, large: 0.13 };

/** Three plain and three patterned backgrounds, each named by one word. */
export const BACKGROUNDS = ['white', 'grey', 'cream', 'striped', 'dotted', 'checkered'] as const;
export type BackgroundName = (typeof BACKGROUNDS)[number];

export interface Shape extends Placement {
  shape: ShapeName;
  colour: ColourName;
  size: SizeName;
}

export interface GeneralScene {
  background: BackgroundName;
  shapes: Shape[];
}

export const MAX_GENERAL_SHAPES = 5;

/** One to five shapes in distinct cells; no two share both colour and shape, so "the red circle" names one. */
export function sampleGeneralScene(r: PyRandom): GeneralScene {
  const background = r.choice(BACKGROUNDS);
  const places = placeInCells(r, intIn(r, 1, MAX_GENERAL_SHAPES));
  const used = new Set<string>();
  const shapes = places.map((p): Shape => {
    let shape: ShapeName;
    let colour: ColourName;
    do {
      shape = r.choice(SHAPES);
      colour = r.choice(COLOUR_NAMES);
    } while (used.has(`${colour} ${shape}`));
    used.add(`${colour} ${shape}`);
    return { ...p, shape, colour, size: chance(r, 0.5) ? 'small' : 'large' };
  });
  return { background, shapes };
}

const f = (v: number) => v.toFixed(2);

function backgroundSvg(bg: BackgroundName, side: number): string {
  const plain: Record<string, string> = { white: '#ffffff', grey: '#c9c9c9', cream: '#f4ecd2' };
  if (bg in plain) return `<rect width="${side}" height="${side}" fill="${plain[bg]}"/>`;
  const step = side / 8;
  const parts = [`<rect width="${side}" height="${side}" fill="#ffffff"/>`];
  for (let i = 0; i < 8; i++) {
    if (bg === 'striped') parts.push(`<rect x="0" y="${f(i * step)}" width="${side}" height="${f(step / 2)}" fill="#dcdcdc"/>`);
    for (let j = 0; j < 8; j++) {
      if (bg === 'checkered' && (i + j) % 2 === 0) parts.push(`<rect x="${f(j * step)}" y="${f(i * step)}" width="${f(step)}" height="${f(step)}" fill="#e2e2e2"/>`);
      if (bg === 'dotted') parts.push(`<circle cx="${f((j + 0.5) * step)}" cy="${f((i + 0.5) * step)}" r="${f(step / 6)}" fill="#b8b8b8"/>`);
    }
  }
  return parts.join('');
}

function shapeSvg(s: Shape, side: number): string {
  const cx = s.x * side;
  const cy = s.y * side;
  const rad = RADIUS[s.size] * side;
  const fill = COLOURS[s.colour];
  switch (s.shape) {
    case 'circle':
      return `<circle cx="${f(cx)}" cy="${f(cy)}" r="${f(rad)}" fill="${fill}"/>`;
    case 'square': {
      const h = rad * 0.85;
      return `<rect x="${f(cx - h)}" y="${f(cy - h)}" width="${f(2 * h)}" height="${f(2 * h)}" fill="${fill}"/>`;
    }
    case 'triangle': {
      const pts = [
        [cx, cy - rad],
        [cx + rad * 0.95, cy + rad * 0.75],
        [cx - rad * 0.95, cy + rad * 0.75],
      ];
      return `<polygon points="${pts.map(([x, y]) => `${f(x)},${f(y)}`).join(' ')}" fill="${fill}"/>`;
    }
    case 'cross': {
      const t = rad * 0.36;
      return `<rect x="${f(cx - rad)}" y="${f(cy - t)}" width="${f(2 * rad)}" height="${f(2 * t)}" fill="${fill}"/><rect x="${f(cx - t)}" y="${f(cy - rad)}" width="${f(2 * t)}" height="${f(2 * rad)}" fill="${fill}"/>`;
    }
  }
}

export function generalSvg(scene: GeneralScene, side: number): string {
  const body = backgroundSvg(scene.background, side) + scene.shapes.map((s) => shapeSvg(s, side)).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${side}" height="${side}" viewBox="0 0 ${side} ${side}">${body}</svg>`;
}
