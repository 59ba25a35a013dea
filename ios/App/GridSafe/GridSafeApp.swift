// The iOS shell: SwiftUI screens over GridSafeKit, and automatic sync with BackgroundTasks.
// Build in Xcode on a Mac (see ios/README.md); it holds no logic of its own.
import BackgroundTasks
import GridSafeKit
import SwiftUI

@main
struct GridSafeApp: App {
    @Environment(\.scenePhase) private var phase
    let model = AppModel.shared

    init() {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: AppModel.syncTask, using: nil) { task in
            AppModel.shared.runBackgroundSync(task as! BGProcessingTask)
        }
    }

    var body: some Scene {
        WindowGroup { ContentView().environmentObject(model) }
            .onChange(of: phase) { _, newPhase in
                if newPhase == .background { model.scheduleSync() }
            }
    }
}

@MainActor
final class AppModel: ObservableObject {
    static let shared = AppModel()
    static let syncTask = "cn.gridsafe.sync"

    let store: GridStore
    /// Chinese first: English only where the phone is set to English.
    let lang: Language = Locale.current.language.languageCode?.identifier == "en" ? .en : .zh
    @Published var user: String?
    @Published var syncMessage: String?

    private init() {
        let dir = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // Encrypted at rest with a key the Keychain keeps (docs/security.md).
        store = try! StoreKeys().open(path: dir.appendingPathComponent("gridsafe.sqlite").path)
        user = (try? store.syncState())?.enrolledUser
    }

    func syncNow(originals: Bool = true) async {
        do {
            for try await event in store.syncEvents(originals: originals) {
                if case let .progress(p) = event {
                    syncMessage = lang == .zh
                        ? "正在同步：已发送 \(p.docsPushed) 条，已接收 \(p.docsPulled) 条，已上传 \(p.photosUploaded) 张照片"
                        : "Syncing: \(p.docsPushed) sent, \(p.docsPulled) received, \(p.photosUploaded) photos"
                }
            }
            syncMessage = nil
        } catch {
            syncMessage = reason(error)
        }
    }

    /// Records and photos when there is a network; the system picks the moment.
    func scheduleSync() {
        let request = BGProcessingTaskRequest(identifier: Self.syncTask)
        request.requiresNetworkConnectivity = true
        request.requiresExternalPower = false
        request.earliestBeginDate = Date(timeIntervalSinceNow: 15 * 60)
        try? BGTaskScheduler.shared.submit(request)
    }

    nonisolated func runBackgroundSync(_ task: BGProcessingTask) {
        let work = Task {
            var ok = true
            do {
                for try await _ in store.syncEvents(originals: true) {}
            } catch {
                ok = false
            }
            task.setTaskCompleted(success: ok)
        }
        task.expirationHandler = { work.cancel() }
        Task { @MainActor in self.scheduleSync() }
    }
}

/// What a failure says to a person: the core's reason, already in words.
func reason(_ error: Error) -> String {
    guard let e = error as? GridSafeError else { return error.localizedDescription }
    switch e {
    case let .InvalidInput(r), let .NotFound(r), let .Incomplete(r), let .Storage(r), let .WrongKey(r),
         let .Network(r), let .Unauthorized(r), let .Cancelled(r), let .Closed(r):
        return r
    case let .Refused(_, r):
        return r
    }
}

struct ContentView: View {
    @EnvironmentObject var model: AppModel

    var body: some View {
        if let user = model.user {
            TabView {
                NavigationStack { TodayView(user: user) }.tabItem { Label("今日", systemImage: "calendar") }
                NavigationStack { VenuesView(user: user) }.tabItem { Label("场所", systemImage: "house") }
                NavigationStack { SyncView() }.tabItem { Label("同步", systemImage: "arrow.triangle.2.circlepath") }
            }
        } else {
            EnrolView()
        }
    }
}
