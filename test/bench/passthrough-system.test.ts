// The FUSE ceiling (libfuse3's passthrough_ll example): finding its source
// (plain or gzipped) and the headers it includes, telling from the source
// whether max_threads reaches the loop, its mount command line, and its
// place in the registry.
import t from 'tap'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { escapeFuseOpt, localIncludes, passthroughMountArgs, readExample, sourceHonoursMaxThreads, threadNote } from '../../tools/bench/systems/passthrough-system.js'
import { ALL_SYSTEMS } from '../../tools/bench/systems/registry.js'

/** The parts of libfuse 3.14's passthrough_ll.c that matter here. */
const SOURCE_314 = `#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include "passthrough_helpers.h"
	else {
		config.clone_fd = opts.clone_fd;
		config.max_idle_threads = opts.max_idle_threads;
		ret = fuse_session_loop_mt(se, &config);
	}`
/** Later libfuse examples hand max_threads to the loop through the 3.12 config API. */
const SOURCE_LATER = `#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 12)
# include "passthrough_helpers.h"
		fuse_loop_cfg_set_max_threads(config, opts.max_threads);`

t.test('the example source is read plain or gzipped, with the headers it includes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'examples-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'passthrough_ll.c'), SOURCE_314)
  await writeFile(join(dir, 'passthrough_helpers.h.gz'), gzipSync('/* helpers */\n'))
  t.equal(readExample(dir, 'passthrough_ll.c'), SOURCE_314)
  t.equal(readExample(dir, 'passthrough_helpers.h'), '/* helpers */\n')
  t.equal(readExample(dir, 'missing.c'), undefined)
  t.same(localIncludes(SOURCE_314), ['passthrough_helpers.h'], 'system headers in <> are not copied')
  t.same(localIncludes(SOURCE_LATER), ['passthrough_helpers.h'])
})

t.test('whether max_threads reaches the loop is read from the source', async (t) => {
  t.equal(sourceHonoursMaxThreads(SOURCE_314), false)
  t.equal(sourceHonoursMaxThreads(SOURCE_LATER), true)
  const bin = { path: '/x/passthrough_ll', libfuseVersion: '3.14.0', acceptsMaxThreads: true, honoursMaxThreads: false }
  t.match(threadNote(bin), /libfuse 3\.14\.0\) accepts -o max_threads=16, but .* default cap of 10 worker threads applied/)
  t.match(threadNote({ ...bin, honoursMaxThreads: true }), /ran its multithreaded loop with -o max_threads=16\.$/)
  t.match(threadNote({ ...bin, acceptsMaxThreads: false }), /has no max_threads option/)
})

t.test('mount command: foreground, source, cache=auto, allow_other, 16 threads', async (t) => {
  t.same(passthroughMountArgs('/data/shard', '/tmp/mnt', 16), ['-f', '-o', 'source=/data/shard,cache=auto,allow_other,max_threads=16', '/tmp/mnt'])
  t.same(passthroughMountArgs('/data', '/tmp/mnt', undefined), ['-f', '-o', 'source=/data,cache=auto,allow_other', '/tmp/mnt'])
  t.equal(escapeFuseOpt('/a,b\\c'), '/a\\,b\\\\c', 'commas and backslashes escaped for fuse_opt')
})

t.test('registered as a limit after local disk, every epoch measured, no writes', async (t) => {
  const names = ALL_SYSTEMS.map((s) => s.name)
  t.equal(names.indexOf('passthrough'), names.indexOf('local') + 1)
  const p = ALL_SYSTEMS.find((s) => s.name === 'passthrough')!
  t.equal(p.role, 'limit')
  t.equal(p.label, 'FUSE ceiling (libfuse3 passthrough_ll)')
  t.equal(p.measureEveryEpoch, true)
  t.equal(p.readOnly, true)
  t.equal(ALL_SYSTEMS.find((s) => s.name === 'direct')?.readOnly, true)
  t.notOk(ALL_SYSTEMS.find((s) => s.name === 'local')?.readOnly, 'local disk still takes the writes reference')
})
