import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { addonCandidates, isLibvirtError } from '../../src/libvirt/native';

test('addon candidates: env override wins, else next to the file then every parent\'s host-agent/native build', () => {
  assert.deepEqual(addonCandidates('/x/y', { HEFERY_LIBVIRT_ADDON: '/opt/a.node' }), ['/opt/a.node']);
  const c = addonCandidates('/repo/dist/agent', {});
  assert.equal(c[0], '/repo/dist/agent/hefery_libvirt.node');
  assert.ok(c.includes(join('/repo', 'host-agent/native/build/Release/hefery_libvirt.node')));
  assert.equal(c.at(-1), '/host-agent/native/build/Release/hefery_libvirt.node');
});

test('isLibvirtError needs a numeric code', () => {
  assert.equal(isLibvirtError(Object.assign(new Error('x'), { code: 3, domain: 10 })), true);
  assert.equal(isLibvirtError(Object.assign(new Error('x'), { code: 'ENOENT' })), false);
  assert.equal(isLibvirtError({ code: 3 }), false);
});

test('a missing addon gives an error that says how to build it', async () => {
  const { loadAddon } = await import('../../src/libvirt/native');
  const saved = process.env.HEFERY_LIBVIRT_ADDON;
  process.env.HEFERY_LIBVIRT_ADDON = '/nonexistent/hefery_libvirt.node';
  try {
    assert.throws(() => loadAddon(), /not built: run npm run build:native/);
  } finally {
    if (saved === undefined) delete process.env.HEFERY_LIBVIRT_ADDON;
    else process.env.HEFERY_LIBVIRT_ADDON = saved;
  }
});

test('a file that is not a loadable addon gives a clear error', async () => {
  const { loadAddon } = await import('../../src/libvirt/native');
  const saved = process.env.HEFERY_LIBVIRT_ADDON;
  process.env.HEFERY_LIBVIRT_ADDON = __filename;
  try {
    assert.throws(() => loadAddon(), /cannot load libvirt addon .*npm run build:native/);
  } finally {
    if (saved === undefined) delete process.env.HEFERY_LIBVIRT_ADDON;
    else process.env.HEFERY_LIBVIRT_ADDON = saved;
  }
});
