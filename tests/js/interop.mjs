#!/usr/bin/env node
// js-libp2p interop client for Otedama's Rust libp2p network layer.
//
//   node interop.mjs --bootstrap <multiaddr with /p2p/<id>> [--find <peerId>]
//                    --topic <topic> [--count N] [--timeout-ms MS]
//                    [--kad-protocol /otedama/kad/1.0.0] [--publish-hex HEX]...
//                    [--identify-protocol-version /otedama/1.0.0]
//
// stdout: one JSON object per line (milestones, see README.md).
// stderr: human diagnostics only.
// exit codes: 0 done, 1 error, 2 timeout.

import { parseArgs } from 'node:util'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createNode, DEFAULT_KAD_PROTOCOL } from './node.mjs'

const USAGE = 'usage: node interop.mjs --bootstrap <multiaddr/p2p/id> [--find <peerId>] --topic <topic> ' +
  '[--count N] [--timeout-ms MS] [--kad-protocol PROTO] [--publish-hex HEX]... [--identify-protocol-version V]'

function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function log (...args) {
  console.error(`[interop ${new Date().toISOString()}]`, ...args)
}

function toHex (bytes) {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

function sleep (ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(signal.reason); return }
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve() }, ms)
    const onAbort = () => { clearTimeout(t); reject(signal.reason) }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

let stage = 'args'
let node
let finished = false
let deadlineTimer

async function finish (code, event) {
  if (finished) return
  finished = true
  clearTimeout(deadlineTimer)
  if (event != null) emit(event)
  if (node != null) {
    try {
      await Promise.race([node.stop(), sleep(2000)])
    } catch (err) {
      log('error while stopping node:', err)
    }
  }
  process.exit(code)
}

function parseCli (argv) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      bootstrap: { type: 'string' },
      find: { type: 'string' },
      topic: { type: 'string' },
      count: { type: 'string', default: '1' },
      'timeout-ms': { type: 'string', default: '30000' },
      'kad-protocol': { type: 'string', default: DEFAULT_KAD_PROTOCOL },
      'publish-hex': { type: 'string', multiple: true, default: [] },
      'identify-protocol-version': { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help) {
    console.error(USAGE)
    process.exit(0)
  }
  if (values.bootstrap == null) throw new Error('--bootstrap is required')
  if (values.topic == null) throw new Error('--topic is required')
  const count = Number(values.count)
  if (!Number.isInteger(count) || count < 0) throw new Error(`--count must be a non-negative integer, got ${values.count}`)
  const timeoutMs = Number(values['timeout-ms'])
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new Error(`--timeout-ms must be a positive integer, got ${values['timeout-ms']}`)
  const bootstrap = multiaddr(values.bootstrap)
  const bootstrapPeer = bootstrap.getPeerId()
  if (bootstrapPeer == null) throw new Error('--bootstrap multiaddr must end in /p2p/<peerId>')
  const find = values.find != null ? peerIdFromString(values.find) : undefined
  const publish = values['publish-hex'].map((hex) => {
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new Error(`--publish-hex is not an even-length hex string: ${hex}`)
    return Uint8Array.from(Buffer.from(hex, 'hex'))
  })
  return {
    bootstrap,
    find,
    topic: values.topic,
    count,
    timeoutMs,
    kadProtocol: values['kad-protocol'],
    identifyProtocolVersion: values['identify-protocol-version'],
    publish
  }
}

/** Retry DHT FIND_NODE lookups until the target is found or `signal` aborts. */
async function findPeerViaDht (dht, target, signal) {
  let attempt = 0
  for (;;) {
    attempt++
    // Bound each attempt so a stuck query is retried: the routing table fills
    // asynchronously (identify -> topology -> libp2p ping -> k-bucket add).
    const attemptSignal = AbortSignal.any([signal, AbortSignal.timeout(5000)])
    try {
      for await (const ev of dht.findPeer(target, { useCache: false, signal: attemptSignal })) {
        if (ev.name === 'FINAL_PEER' && ev.peer.id.equals(target)) {
          log(`findPeer attempt ${attempt}: found via ${ev.from}`)
          return ev.peer
        }
        if (ev.name === 'QUERY_ERROR') {
          log(`findPeer attempt ${attempt}: query error from ${ev.from}: ${ev.error?.message}`)
        } else if (ev.name === 'PEER_RESPONSE') {
          log(`findPeer attempt ${attempt}: response from ${ev.from} with ${ev.closer.length} closer peer(s)`)
        }
      }
    } catch (err) {
      if (signal.aborted) throw err
      log(`findPeer attempt ${attempt} failed: ${err.message}`)
    }
    await sleep(250, signal)
  }
}

async function main () {
  let args
  try {
    args = parseCli(process.argv.slice(2))
  } catch (err) {
    console.error(USAGE)
    throw err
  }

  const deadline = new AbortController()
  deadlineTimer = setTimeout(() => {
    deadline.abort(new Error(`timed out in stage ${stage}`))
    finish(2, { event: 'timeout', stage })
  }, args.timeoutMs)
  const signal = deadline.signal

  stage = 'start'
  node = await createNode({ kadProtocol: args.kadProtocol, identifyProtocolVersion: args.identifyProtocolVersion })
  emit({
    event: 'started',
    peerId: node.peerId.toString(),
    addrs: node.getMultiaddrs().map((ma) => ma.toString())
  })
  log(`kad protocol ${args.kadProtocol}, topic ${args.topic}, count ${args.count}, timeout ${args.timeoutMs}ms`)

  stage = 'connect-bootstrap'
  const bootConn = await node.dial(args.bootstrap, { signal })
  emit({ event: 'connected', peer: bootConn.remotePeer.toString() })

  if (args.find != null) {
    stage = 'find'
    const found = await findPeerViaDht(node.services.dht, args.find, signal)
    emit({
      event: 'found',
      peer: found.id.toString(),
      addrs: found.multiaddrs.map((ma) => ma.toString())
    })

    stage = 'connect-target'
    if (found.multiaddrs.length > 0) {
      await node.peerStore.merge(found.id, { multiaddrs: found.multiaddrs })
    }
    const targetConn = await node.dial(found.id, { signal })
    emit({ event: 'connected', peer: targetConn.remotePeer.toString() })
  }

  stage = 'subscribe'
  const pubsub = node.services.pubsub
  let received = 0
  let draining = false
  const maybeDone = () => {
    if (draining && received >= args.count) finish(0, { event: 'done' })
  }
  pubsub.addEventListener('gossipsub:message', (evt) => {
    if (finished) return
    const { propagationSource, msgId, msg } = evt.detail
    if (msg.topic !== args.topic) return
    received++
    emit({
      event: 'message',
      from: msg.type === 'signed' ? msg.from.toString() : propagationSource.toString(),
      via: propagationSource.toString(),
      topic: msg.topic,
      bytes: msg.data.byteLength,
      data: toHex(msg.data),
      seqno: msg.type === 'signed' ? msg.sequenceNumber.toString() : null,
      msgId
    })
    maybeDone()
  })
  pubsub.subscribe(args.topic)
  emit({ event: 'subscribed' })

  if (args.publish.length > 0) {
    stage = 'publish'
    while (pubsub.getSubscribers(args.topic).length === 0) {
      await sleep(100, signal)
    }
    log(`topic peers: ${pubsub.getSubscribers(args.topic).map(String).join(', ')}; mesh: ${pubsub.getMeshPeers(args.topic).join(', ')}`)
    for (const data of args.publish) {
      const res = await pubsub.publish(args.topic, data)
      emit({ event: 'published', bytes: data.byteLength, recipients: res.recipients.length })
    }
  }

  stage = 'messages'
  draining = true
  maybeDone()
}

process.on('SIGTERM', () => { finish(1, { event: 'error', message: 'terminated by SIGTERM' }) })
process.on('SIGINT', () => { finish(1, { event: 'error', message: 'interrupted by SIGINT' }) })
process.on('unhandledRejection', (err) => {
  log('unhandled rejection:', err)
  finish(1, { event: 'error', message: String(err?.message ?? err) })
})

main().catch((err) => {
  if (finished) return
  log('error:', err)
  finish(1, { event: 'error', message: String(err?.message ?? err) })
})
