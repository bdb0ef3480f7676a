import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeXml, niceTicks, svgDocument } from '../../src/evaluation/svg';

test('nice ticks are round and cover the range', () => {
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(3, 97, 5), [20, 40, 60, 80]);
  assert.deepEqual(niceTicks(5, 5), [5]);
});

test('an SVG document has one path per series, the bands, and escaped text', () => {
  const svg = svgDocument([
    { width: 400, height: 200, title: 'a < b & "c"', series: [{ name: 's1', color: '#f00', points: [[0, 0], [1, 1]] }, { name: 's2', color: '#0f0', points: [[0, 1], [1, 0]] }], bands: [[0.2, 0.4]] },
    { width: 400, height: 100, series: [{ name: 'empty', color: '#00f', points: [] }] },
  ]);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="400" height="300"/);
  assert.equal(svg.match(/<path /g)?.length, 2);
  assert.ok(svg.includes('a &lt; b &amp; &quot;c&quot;'));
  assert.ok(!svg.includes('a < b'));
  assert.equal(svg.match(/fill="#f4b6b6"/g)?.length, 1);
  assert.equal(escapeXml('<&>'), '&lt;&amp;&gt;');
});
