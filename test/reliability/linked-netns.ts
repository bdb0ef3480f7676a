// Test fixture: a network namespace of our own reached from the test over a
// veth pair, so a test can pull the cable (`ip link set ... down`) between
// the extension (in the root namespace) and an sshd inside the namespace.
//
//   root ns:  veth end hfh<id>r, no address; a /32 route to ADDRESS through it
//   ns hefery-h<id>: veth end hfh<id>n with ADDRESS; default route back through it
//
// The only address is the one inside our namespace; the root side answers
// from whatever address the host already has (the kernel picks it for the
// /32 route), so nothing of the host's own addressing is touched.
// down() takes the namespace's end down: packets in flight and new SYNs are
// dropped silently (a dead link, not a refusal); up() brings it back.

import { randomInt } from 'node:crypto';
import { run } from '../fixtures/libvirt';
import { uniqueId } from '../fixtures/netns';

export interface LinkedNamespace {
  ns: string;
  /** The namespace's address (10.218.x.y), reachable from the root namespace. */
  address: string;
  down(): Promise<void>;
  up(): Promise<void>;
  destroy(): Promise<void>;
}

export async function createLinkedNamespace(id: string = uniqueId()): Promise<LinkedNamespace> {
  const ns = `hefery-h${id}`;
  const rootIf = `hfh${id}r`;
  const nsIf = `hfh${id}n`;
  const address = `10.218.${randomInt(0, 256)}.${randomInt(2, 254)}`;
  let destroyed = false;
  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    // Deleting the namespace deletes its veth end, the pair, and the root route with it.
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    await run('ip', ['link', 'del', rootIf]).catch(() => undefined);
  };
  // Routes through an interface go when it goes down: (re)install them on every up.
  const routes = async () => {
    await run('ip', ['-n', ns, 'route', 'replace', 'default', 'dev', nsIf]);
    await run('ip', ['route', 'replace', `${address}/32`, 'dev', rootIf]);
  };
  try {
    await run('ip', ['netns', 'add', ns]);
    await run('ip', ['link', 'add', rootIf, 'type', 'veth', 'peer', 'name', nsIf]);
    await run('ip', ['link', 'set', nsIf, 'netns', ns]);
    await run('ip', ['-n', ns, 'addr', 'add', `${address}/32`, 'dev', nsIf]);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', ns, 'link', 'set', nsIf, 'up']);
    await run('ip', ['link', 'set', rootIf, 'up']);
    await routes();
    const { stdout } = await run('ip', ['-4', 'route', 'get', address]);
    if (!/ src \d+\.\d+\.\d+\.\d+/.test(stdout)) {
      throw new Error(`the root namespace has no IPv4 address to reach ${address} from (ip route get: ${stdout.trim()})`);
    }
  } catch (e) {
    await destroy();
    throw e;
  }
  return {
    ns,
    address,
    down: async () => {
      await run('ip', ['-n', ns, 'link', 'set', nsIf, 'down']);
    },
    up: async () => {
      await run('ip', ['-n', ns, 'link', 'set', nsIf, 'up']);
      await routes();
    },
    destroy,
  };
}
