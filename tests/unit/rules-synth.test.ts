import { PyRandom } from '../../core/pyrandom';
import { RULE_NAMES, splitSentences, synthesizeByRules } from '../../core/rules-synth';

test('sentences split after . ! ? followed by whitespace', () => {
  expect(splitSentences(' A bowl of soup. It is hot! Is it? Yes ')).toEqual(['A bowl of soup.', 'It is hot!', 'Is it?', 'Yes']);
});

test('a rich caption makes every rule applicable and the pick follows Random(synId)', () => {
  const caption = 'A serving of mushroom risotto with three lemon wedges on a white plate. Chopped herbs are sprinkled over the top.';
  const picks = new Set<string>();
  for (let synId = 0; synId < 40; synId++) {
    const r = synthesizeByRules(caption, synId);
    if (!r.ok) throw new Error(r.reason);
    expect(r.rule).toBe(new PyRandom(synId).choice(RULE_NAMES));
    picks.add(r.rule);
    expect(r.triplet.question.length).toBeGreaterThan(0);
  }
  expect([...picks].sort()).toEqual([...RULE_NAMES].sort());
});

test('each rule derives its triplet from the caption', () => {
  const caption = 'A serving of mushroom risotto with three lemon wedges on a white plate. Chopped herbs are sprinkled over the top.';
  const by = (rule: string) => {
    for (let s = 0; s < 50; s++) {
      const r = synthesizeByRules(caption, s);
      if (r.ok && r.rule === rule) return r.triplet;
    }
    throw new Error(rule);
  };
  expect(by('describe')).toEqual({ question: 'What does this image show?', informative: caption, precise: 'A serving of mushroom risotto with three lemon wedges on a white plate' });
  expect(by('key-term')).toEqual({ question: 'Is "mushroom" relevant to what this image shows? Answer yes or no.', informative: `Yes. ${splitSentences(caption)[0]}`, precise: 'Yes' });
  expect(by('fill-blank')).toMatchObject({ precise: 'mushroom', question: expect.stringContaining('A serving of ____ risotto') });
  expect(by('count')).toEqual({ question: 'How many lemon are there in this image?', informative: splitSentences(caption)[0], precise: 'three' });
});

test('captions too short for any rule are refused with a reason', () => {
  expect(synthesizeByRules('Soup.', 0)).toEqual({ ok: false, reason: 'no rule applies (caption too short)' });
  expect(synthesizeByRules('   ', 0)).toEqual({ ok: false, reason: 'empty caption' });
});
