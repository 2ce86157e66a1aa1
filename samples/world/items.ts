// One item of each kind the world holds, from its own seeded stream: the picture (as SVG) and
// its text. The file layout and the JSON rows are world.ts's business; this file only says
// what each item is.
import type { PyRandom } from '../../core/pyrandom';
import { generalSvg, sampleGeneralScene } from './general-scene';
import { generalCaption } from './general-text';
import { generalTasks, type GeneralTask } from './general-tasks';
import { sampleSlide, slideSvg } from './domain-scene';
import { domainCaption, DOMAIN_INSTRUCTIONS } from './domain-text';
import { choiceRow, vqaRow, type ChoiceFields, type VqaFields } from './domain-benchmark';

export interface Drawn<T> {
  svg: string;
  data: T;
}

export function generalItem(r: PyRandom, side: number): Drawn<{ caption: string; tasks: GeneralTask[] }> {
  const scene = sampleGeneralScene(r);
  return { svg: generalSvg(scene, side), data: { caption: generalCaption(r, scene), tasks: generalTasks(r, scene) } };
}

export function domainItem(r: PyRandom, side: number): Drawn<{ instruction: string; caption: string }> {
  const slide = sampleSlide(r);
  return { svg: slideSvg(slide, side), data: { instruction: `<image>${r.choice(DOMAIN_INSTRUCTIONS)}`, caption: domainCaption(r, slide) } };
}

export function vqaItem(r: PyRandom, side: number, index: number): Drawn<VqaFields> {
  const slide = sampleSlide(r);
  return { svg: slideSvg(slide, side), data: vqaRow(r, slide, index) };
}

export function choiceItem(r: PyRandom, side: number): Drawn<ChoiceFields> {
  const slide = sampleSlide(r);
  return { svg: slideSvg(slide, side), data: choiceRow(r, slide) };
}
