// Self test for interop.mjs, JS only (no Rust involved).
//
// Starts two js-libp2p nodes with the same configuration as interop.mjs:
//   A: "bootstrap"  B: "target" (B dials A, so A's DHT learns B)
// then runs interop.mjs as a child process against them, like the Rust
// integration test does against Otedama nodes.
//
// Run with `npm test` (or `node selftest.mjs`); SELFTEST_VERBOSE=1 shows the
// interop.mjs stderr diagnostics of the main test.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { peerIdFromString } from '@libp2p/peer-id'
import { createNode } from './node.mjs'

const HERE = dirname(fileURLToPath(import.meta.url))
const INTEROP = join(HERE, 'interop.mjs')
const TOPIC = 'otedama/selftest/shares/1'

/**
 * Spawn interop.mjs; resolve with { code, events, stderr } when it exits.
 * `onEvent(ev)` is called for every JSON line printed on stdout.
 */
function runInterop (args, { onEvent = () => {}, killAfterMs = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [INTEROP, ...args], {
      cwd: HERE,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const events = []
    let stdoutBuf = ''
    let stderr = ''
    const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk) => {
      stdoutBuf += chunk
      let nl
      while ((nl = stdoutBuf.indexOf('\n')) >= 0) {
        const line = stdoutBuf.slice(0, nl)
        stdoutBuf = stdoutBuf.slice(nl + 1)
        if (line.trim() === '') continue
        let ev
        try {
          ev = JSON.parse(line)
        } catch {
          reject(new Error(`interop.mjs printed a non-JSON stdout line: ${line}`))
          continue
        }
        events.push(ev)
        Promise.resolve().then(() => onEvent(ev)).catch((err) => {
          console.error('[selftest] onEvent handler failed:', err)
        })
      }
    })
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (chunk) => { stderr += chunk })
    child.on('error', reject)
    child.on('close', (code, sig) => {
      clearTimeout(killer)
      resolve({ code: code ?? sig, events, stderr })
    })
  })
}

async function waitFor (what, fn, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs
  for (;;) {
    if (await fn()) return
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

let A
let B
const receivedByB = []

before(async () => {
  A = await createNode()
  B = await createNode()
  B.services.pubsub.subscribe(TOPIC)
  B.services.pubsub.addEventListener('message', (evt) => {
    if (evt.detail.topic === TOPIC) receivedByB.push(evt.detail)
  })
  await B.dial(A.getMultiaddrs()[0])
  // identify -> kad topology -> libp2p ping -> k-bucket: wait until A's DHT
  // can answer FIND_NODE(B) with B's addresses.
  await waitFor('B in A\'s routing table', async () => (await A.services.dht.routingTable.find(B.peerId)) != null)
})

after(async () => {
  await Promise.all([A?.stop(), B?.stop()])
})

test('finds the target through the bootstrap DHT, receives its messages, publishes back', async (t) => {
  const payloads = ['6f746564616d612d7368617265', '00', 'ff'.repeat(300)]
  const publishHex = 'deadbeef'
  let interopPeer
  const started = Date.now()
  const marks = {}

  const { code, events, stderr } = await runInterop([
    '--bootstrap', A.getMultiaddrs()[0].toString(),
    '--find', B.peerId.toString(),
    '--topic', TOPIC,
    '--count', String(payloads.length),
    '--timeout-ms', '20000',
    '--kad-protocol', '/otedama/kad/1.0.0',
    '--publish-hex', publishHex,
    '--identify-protocol-version', '/otedama/1.0.0'
  ], {
    onEvent: async (ev) => {
      marks[ev.event] ??= Date.now() - started
      if (ev.event === 'started') interopPeer = ev.peerId
      if (ev.event === 'subscribed') {
        const pubsub = B.services.pubsub
        await waitFor('interop subscription seen by B', () =>
          pubsub.getSubscribers(TOPIC).some((p) => p.toString() === interopPeer))
        for (const hex of payloads) {
          await pubsub.publish(TOPIC, Uint8Array.from(Buffer.from(hex, 'hex')))
        }
      }
    }
  })
  t.diagnostic(`interop.mjs exit ${code} after ${Date.now() - started} ms; milestones (ms): ${JSON.stringify(marks)}`)
  if (code !== 0 || process.env.SELFTEST_VERBOSE) console.error(stderr)
  assert.equal(code, 0, 'interop.mjs exit code')

  const kinds = events.map((e) => e.event)
  assert.deepEqual(kinds.filter((k) => k !== 'message' && k !== 'published'),
    ['started', 'connected', 'found', 'connected', 'subscribed', 'done'])
  assert.ok(events[0].addrs.some((a) => a.startsWith('/ip4/127.0.0.1/tcp/')), 'listens on loopback')
  assert.equal(events[1].peer, A.peerId.toString())
  const found = events.find((e) => e.event === 'found')
  assert.equal(found.peer, B.peerId.toString())
  assert.ok(found.addrs.some((a) => a.startsWith('/ip4/127.0.0.1/tcp/')), `found loopback addrs: ${found.addrs}`)
  assert.equal(events[3].peer, B.peerId.toString())

  const published = events.filter((e) => e.event === 'published')
  assert.equal(published.length, 1)
  assert.equal(published[0].bytes, 4)
  assert.ok(published[0].recipients >= 1)

  const messages = events.filter((e) => e.event === 'message')
  assert.equal(messages.length, payloads.length)
  assert.deepEqual(messages.map((m) => m.data).sort(), [...payloads].sort())
  for (const m of messages) {
    assert.equal(m.from, B.peerId.toString())
    assert.equal(m.via, B.peerId.toString())
    assert.equal(m.topic, TOPIC)
    assert.equal(m.bytes, m.data.length / 2)
  }
  assert.equal(kinds.at(-1), 'done')

  const seenByA = await A.peerStore.get(peerIdFromString(interopPeer))
  assert.equal(Buffer.from(seenByA.metadata.get('ProtocolVersion')).toString(), '/otedama/1.0.0')
  assert.ok(seenByA.protocols.includes('/otedama/kad/1.0.0'), 'interop node advertises the kad protocol (server mode)')

  await waitFor('B to receive the interop publication', () => receivedByB.length > 0, 5000)
  assert.equal(Buffer.from(receivedByB[0].data).toString('hex'), publishHex)
  assert.equal(receivedByB[0].type, 'signed', 'StrictSign: messages carry from/seqno/signature')
  assert.equal(receivedByB[0].from.toString(), interopPeer)
})

test('times out in the find stage for a peer nobody knows', async (t) => {
  const C = await createNode()
  const unknown = C.peerId.toString()
  await C.stop()
  const started = Date.now()
  const { code, events } = await runInterop([
    '--bootstrap', A.getMultiaddrs()[0].toString(),
    '--find', unknown,
    '--topic', TOPIC,
    '--count', '1',
    '--timeout-ms', '3000'
  ])
  t.diagnostic(`exit ${code} after ${Date.now() - started} ms`)
  assert.equal(code, 2)
  assert.deepEqual(events.at(-1), { event: 'timeout', stage: 'find' })
})

test('reports bad arguments as an error event with exit 1', async () => {
  const { code, events } = await runInterop([
    '--bootstrap', '/ip4/127.0.0.1/tcp/1',
    '--topic', TOPIC
  ])
  assert.equal(code, 1)
  assert.equal(events.at(-1).event, 'error')
  assert.match(events.at(-1).message, /\/p2p\/<peerId>/)
})
