/**
 * Groups for the control sockets (`[daemon] control_group`, `show_group`), looked up in
 * /etc/group by name (a numeric name is taken as the gid).
 */
import { readFile } from 'node:fs/promises';

/** The gid of group `name`, or undefined when there is no such group. */
export async function groupId(name: string, file = '/etc/group'): Promise<number | undefined> {
  if (/^\d+$/.test(name)) return Number(name);
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return undefined;
}
