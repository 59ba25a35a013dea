// The small Swift layer over the generated bindings (GridSafeFFI.swift, copied here by
// build-xcframework.sh): sync progress as an AsyncThrowingStream. Decisions stay in Rust.
import Foundation

public enum SyncEvent {
    case progress(SyncProgress)
    case done(SyncReport)
}

private final class StreamListener: SyncListener {
    let continuation: AsyncThrowingStream<SyncEvent, Error>.Continuation
    init(_ c: AsyncThrowingStream<SyncEvent, Error>.Continuation) { continuation = c }
    func onProgress(progress: SyncProgress) { continuation.yield(.progress(progress)) }
}

public extension GridStore {
    /// Syncs and streams progress, then `.done`. Cancelling the consuming task cancels the sync
    /// at its next safe point; what the relay confirmed is kept.
    func syncEvents(originals: Bool = false) -> AsyncThrowingStream<SyncEvent, Error> {
        AsyncThrowingStream { continuation in
            let cancel = CancelHandle()
            let task = Task {
                do {
                    let report = try await self.sync(originals: originals, listener: StreamListener(continuation), cancel: cancel)
                    continuation.yield(.done(report))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in
                cancel.cancel()
                task.cancel()
            }
        }
    }
}
