import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PanelState, ToHost, ToWebview } from '../src/shared/messages';
import { contentSecurityPolicy, newNonce, panelHtml } from '../../extension/src/panels/html';

const sample = { domain: 'vm1', ts: 1000, state: 'running', cpuPct: 1, memPct: 2, netRxBps: 3, netTxBps: 4, diskRdBps: 5, diskWrBps: 6 };

test('webview -> host messages: accepted shapes, and errors that name the field', () => {
  assert.deepEqual(ToHost.parse({ type: 'ready' }), { type: 'ready' });
  const train = { type: 'train', request: { from: null, to: 5, restarts: 3, maxIterations: 100 } };
  assert.deepEqual(ToHost.parse(train), train);
  assert.throws(() => ToHost.parse({ type: 'rm -rf' }), /type: expected one of ready, retry, train, cancel, got string "rm -rf"/);
  assert.throws(() => ToHost.parse({ type: 'train', request: { from: null, to: null, restarts: 0, maxIterations: 100 } }), /request\.restarts: expected number >= 1, got number 0/);
  assert.throws(() => ToHost.parse({ type: 'cancel', jobId: 'j', extra: 1 }), /extra: expected no such field/);
  assert.throws(() => ToHost.parse('ready'), /expected webview message, got string/);
  assert.throws(() => ToHost.parse(null), /expected webview message, got null/);
});

test('host -> webview messages: samples, protection, decisions are checked against the agent protocol', () => {
  const ok = { type: 'samples', points: [{ sample, risk: 0.5 }] };
  assert.deepEqual(ToWebview.parse(ok), ok);
  assert.throws(() => ToWebview.parse({ ...ok, points: [{ sample: { ...sample, cpuPct: 180 }, risk: 0.5 }] }), /points\[0\]\.sample\.cpuPct: expected number <= 100/);
  assert.throws(() => ToWebview.parse({ ...ok, points: [{ sample, risk: 1.5 }] }), /points\[0\]\.risk: expected number <= 1/);
  assert.throws(() => ToWebview.parse({ type: 'protection', status: null, thresholds: [2] }), /thresholds\[0\]: expected number <= 1/);
  assert.throws(() => ToWebview.parse({ type: 'init', kind: 'logs', ref: { hostId: 'h', domain: 'vm1' }, now: 1 }), /kind: expected one of training, risk, frequency/);
  assert.throws(() => ToWebview.parse({ type: 'init', kind: 'risk', ref: { hostId: 'h', domain: '../etc' }, now: 1 }), /ref\.domain: expected string matching/);
});

test('the saved panel state must name a kind and a valid domain', () => {
  const st = { kind: 'training', ref: { hostId: 'lab', domain: 'vm1' }, view: { range: 'day', restarts: 2 } };
  assert.deepEqual(PanelState.parse(st), st);
  assert.throws(() => PanelState.parse({ kind: 'training', ref: { hostId: '', domain: 'vm1' } }), /ref\.hostId: expected string of at least 1 chars/);
  assert.throws(() => PanelState.parse({ kind: 'training', ref: { hostId: 'h', domain: 'vm1' }, view: { range: 'week' } }), /view\.range: expected one of hour, day, all, custom/);
});

test('panel HTML: strict CSP with the render nonce on every script and stylesheet, nothing remote', () => {
  const nonce = newNonce();
  assert.match(nonce, /^[A-Za-z0-9+/]{22}==$/);
  assert.notEqual(newNonce(), nonce, 'a fresh nonce per render');
  const src = 'https://file+.vscode-resource.vscode-cdn.net';
  const html = panelHtml({ kind: 'risk', title: 'Live risk: vm1 (<lab>)', nonce, cspSource: src, uri: (...p) => `${src}/ext/${p.join('/')}` });
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
  assert.equal(csp, contentSecurityPolicy(src, nonce));
  assert.equal(csp, `default-src 'none'; script-src 'nonce-${nonce}'; style-src ${src} 'nonce-${nonce}'; img-src ${src} data:; font-src ${src}`);
  const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
  assert.equal(scripts.length, 1);
  assert.equal(scripts[0], ` nonce="${nonce}" src="${src}/ext/dist/webview/risk.js"`);
  const links = [...html.matchAll(/<link ([^>]*)>/g)].map((m) => m[1]);
  assert.deepEqual(links.map((l) => /href="([^"]+)"/.exec(l)?.[1]), [`${src}/ext/media/panels.css`, `${src}/ext/dist/webview/risk.css`]);
  assert.ok(links.every((l) => l.includes(`nonce="${nonce}"`)));
  assert.ok(html.includes(`<meta property="csp-nonce" content="${nonce}">`), 'the nonce the toolkit gives its own <style> probe');
  assert.doesNotMatch(html, /style="|<style|\son\w+="/, 'no inline styles or handlers');
  assert.match(html, /<title>Live risk: vm1 \(&lt;lab&gt;\)<\/title>/, 'the title is escaped');
  assert.equal([...html.matchAll(/https?:\/\/(?!file\+\.vscode-resource)/g)].length, 0, 'nothing remote');
});
