// Shared by the loopback servers: their command line, and how they listen on 127.0.0.1 (port 0: the kernel picks one), publish the
// port through a file written atomically (start.sh waits for it), and stop cleanly on SIGTERM/SIGINT.
import fs from 'node:fs';

export function listenOnLoopback(server, port, portFile) {
  server.listen(Number(port), '127.0.0.1', () => {
    const tmp = `${portFile}.tmp`;
    fs.writeFileSync(tmp, `${server.address().port}\n`);
    fs.renameSync(tmp, portFile);
  });
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => {
      server.close();
      process.exit(0);
    });
  }
}

// `--name value` pairs into { name: value } (kebab-case names become camelCase), over `defaults`;
// throws when one of `required` is missing.
export function parseArgs(argv, defaults, required) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i];
    const value = argv[i + 1];
    if (!name.startsWith('--') || value === undefined) {
      throw new Error(`bad argument: ${name}`);
    }
    out[name.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = value;
  }
  for (const key of required) {
    if (!out[key]) throw new Error(`missing --${key}`);
  }
  return out;
}
