// One item of each kind the world holds, from its own seeded stream: the picture (as SVG) and
// its text. The file layout and the JSON rows are world.ts's business; this file only says
// what each item is.
import type { PyRandom } from '../../core/pyrandom';
import { generalSvg, sampleGeneralScene } from './general-scene';
import { generalCaption } from './general-text';
import { generalTasks, type GeneralTask } from './general-tasks';
import { sampleSlide, slideSvg, type Slide } from './domain-scene';
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

export function domainItem(r: PyRandom, side: number): Drawn<{ instruction: string; caption: string; slide: Slide }> {
  const slide = sampleSlide(r);
  return { svg: slideSvg(slide, side), data: { instruction: `<image>${r.choice(DOMAIN_INSTRUCTIONS)}`, caption: domainCaption(r, slide), slide } };
}

/**
 * Gold tasks of a training slide (the demo's ceiling arm, not the method): one VQA-RAD-style
 * question (CLOSED for even `index`, OPEN for odd) and one PMC-VQA-style question, drawn by the
 * benchmark's own generators from the slide's facts, so they are always right and shaped like the
 * benchmark. `r` is the item's own 'gold' stream: the pairs and images do not change with it.
 */
export function goldTasks(r: PyRandom, slide: Slide, index: number): { question: string; answer: string }[] {
  const v = vqaRow(r, slide, index);
  const c = choiceRow(r, slide);
  return [
    { question: v.input, answer: v.label },
    { question: c.input, answer: c.label },
  ];
}

export function vqaItem(r: PyRandom, side: number, index: number): Drawn<VqaFields> {
  const slide = sampleSlide(r);
  return { svg: slideSvg(slide, side), data: vqaRow(r, slide, index) };
}

export function choiceItem(r: PyRandom, side: number): Drawn<ChoiceFields> {
  const slide = sampleSlide(r);
  return { svg: slideSvg(slide, side), data: choiceRow(r, slide) };
}
