// The relay benchmark's peer workload: phones built on @automerge/automerge-repo push the same
// automerge documents GridSafe's phones push (exported by gridsafe-bench, one directory per phone,
// one file per document) to @automerge/automerge-repo-sync-server, `concurrency` phones at a time,
// each over its own WebSocket, as a phone would.
//
//   node load.mjs run INPUT ws://127.0.0.1:PORT SERVER_DATA_DIR CONCURRENCY
//     → one JSON line: documents, seconds until the server acknowledged every document's heads
//       (merged in its memory), seconds until every document is written to its storage, and the
//       CPU seconds the clients (this process) used meanwhile.
//   node load.mjs verify INPUT SERVER_DATA_DIR   (with the server stopped)
//     → one JSON line: documents in the server's storage whose heads match what was pushed.
import fs from "node:fs"
import path from "node:path"
import * as A from "@automerge/automerge"
import { Repo } from "@automerge/automerge-repo"
import { BrowserWebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"

const [mode, input, ...rest] = process.argv.slice(2)
const phones = fs.readdirSync(input).sort().map(p => path.join(input, p))
const docsOf = dir => fs.readdirSync(dir).sort().map(f => fs.readFileSync(path.join(dir, f)))
const headsKey = heads => [...heads].sort().join(",")

// NodeFSStorageAdapter keeps a document's chunks under DIR/ab/cdef…/ (snapshot/, incremental/).
const storedPath = (dir, id) => path.join(dir, id.slice(0, 2), id.slice(2))
const isStored = (dir, id) => {
  try {
    return fs.readdirSync(storedPath(dir, id), { recursive: true }).some(f => !f.endsWith("/") && /[0-9a-f]{16}/.test(f))
  } catch {
    return false
  }
}

async function pushPhone(dir, url) {
  const socket = new BrowserWebSocketClientAdapter(url)
  const repo = new Repo({ network: [socket] })
  const server = await new Promise(resolve => repo.networkSubsystem.once("peer", ({ peerId }) => resolve(peerId)))
  const storageId = repo.peerMetadataByPeerId[server]?.storageId
  if (!storageId) throw new Error("the sync server did not announce a storage id")
  const handles = docsOf(dir).map(bytes => repo.import(bytes))
  // Acknowledged when the server's heads (its sync state, as it reports them) equal ours.
  await Promise.all(handles.map(h => new Promise(resolve => {
    const want = headsKey(A.getHeads(h.docSync()))
    const done = () => {
      const got = h.getRemoteHeads(storageId)
      if (got && headsKey(got) === want) {
        h.off("remote-heads", done)
        resolve()
      }
    }
    h.on("remote-heads", done)
    done()
  })))
  const ids = handles.map(h => h.documentId)
  // Done: leave, and do not reconnect. A server may still be finishing its side of the
  // conversation (samod sends more sync messages after the heads match); a phone that has left
  // drops what its repo would still answer instead of writing to the closing socket, which the
  // adapter turns into an uncaught "Websocket not ready".
  socket.retryInterval = 0
  socket.disconnect()
  socket.send = () => {}
  return ids
}

if (mode === "run") {
  const [url, storage, concurrency] = [rest[0], rest[1], Number(rest[2] || 8)]
  const start = performance.now()
  const cpuStart = process.cpuUsage()
  const queue = [...phones]
  const ids = []
  const worker = async () => {
    while (queue.length) ids.push(...await pushPhone(queue.shift(), url))
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const acked = (performance.now() - start) / 1000
  // Then until the server has written every document to its storage.
  let pending = ids
  while (pending.length) {
    pending = pending.filter(id => !isStored(storage, id))
    if (pending.length) await new Promise(r => setTimeout(r, 20))
  }
  const stored = (performance.now() - start) / 1000
  const cpu = process.cpuUsage(cpuStart)
  console.log(JSON.stringify({ documents: ids.length, acked_s: acked, stored_s: stored, client_cpu_s: (cpu.user + cpu.system) / 1e6 }))
  process.exit(0)
} else if (mode === "verify") {
  const storage = rest[0]
  const expected = new Map()
  for (const p of phones) for (const b of docsOf(p)) {
    const k = headsKey(A.getHeads(A.load(b)))
    expected.set(k, (expected.get(k) || 0) + 1)
  }
  let matched = 0, found = 0
  for (const a of fs.readdirSync(storage)) {
    if (!fs.statSync(path.join(storage, a)).isDirectory()) continue
    for (const b of fs.readdirSync(path.join(storage, a))) {
      // A document is its snapshot and incremental chunks, loaded together (as the adapter does);
      // sync-state files are not document data.
      const dir = path.join(storage, a, b)
      if (!fs.statSync(dir).isDirectory()) continue // the adapter's own id file
      const chunks = fs.readdirSync(dir, { recursive: true })
        .map(f => path.join(dir, f))
        .filter(f => !f.includes(`${path.sep}sync-state`) && fs.statSync(f).isFile())
      if (!chunks.length) continue
      let doc = A.init()
      for (const c of chunks) doc = A.loadIncremental(doc, fs.readFileSync(c))
      found++
      const k = headsKey(A.getHeads(doc))
      if (expected.get(k) > 0) {
        expected.set(k, expected.get(k) - 1)
        matched++
      }
    }
  }
  console.log(JSON.stringify({ stored_documents: found, matching: matched }))
  process.exit(0)
} else {
  console.error("usage: node load.mjs run INPUT URL STORAGE CONCURRENCY | verify INPUT STORAGE")
  process.exit(2)
}
