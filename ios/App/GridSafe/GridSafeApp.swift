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
    @Published var venues: [Venue] = []
    @Published var hazards: [Hazard] = []
    @Published var status: SyncState?
    @Published var message: String?

    private init() {
        let dir = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // Encrypted at rest with a key the Keychain keeps (docs/security.md).
        store = try! StoreKeys().open(path: dir.appendingPathComponent("gridsafe.sqlite").path)
        refresh()
    }

    var user: String { status?.enrolledUser ?? "" }

    func refresh() {
        status = try? store.syncState()
        venues = (try? store.venues(user: user)) ?? []
        hazards = (try? store.hazards(filter: HazardFilter(scopeUser: user, openOnly: true))) ?? []
    }

    func syncNow() async {
        do {
            for try await event in store.syncEvents() {
                if case let .progress(p) = event {
                    message = "同步中 \(p.docsPushed)↑ \(p.docsPulled)↓ 照片 \(p.photosUploaded)"
                }
            }
            message = nil
        } catch {
            message = "\(error)"
        }
        refresh()
    }

    /// Photos and originals wait for a network connection and external power (office overnight).
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

struct ContentView: View {
    @EnvironmentObject var model: AppModel

    var body: some View {
        NavigationStack {
            List {
                if let s = model.status {
                    Section("同步 Sync") {
                        Text("待同步 \(s.pendingDocs) 条记录 / \(s.pendingPhotos) 张照片")
                        Text("上次同步 \(s.lastSync ?? "从未")")
                        if let m = model.message { Text(m) }
                        Button("立即同步 Sync now") { Task { await model.syncNow() } }
                    }
                }
                Section("我的场所 My venues") {
                    ForEach(model.venues, id: \.id) { v in
                        VStack(alignment: .leading) {
                            Text(v.name)
                            Text("\(v.address) · 上次检查 \(v.lastInspected ?? "无")").font(.caption)
                        }
                    }
                }
                Section("未销号隐患 Open hazards") {
                    ForEach(model.hazards, id: \.id) { h in
                        VStack(alignment: .leading) {
                            Text("\(h.titleZh) · \(h.venueName)")
                            Text("\(h.state) · 期限 \(h.dueDate ?? "—")\(h.overdue ? " · 已逾期" : "")").font(.caption)
                        }
                    }
                }
            }
            .navigationTitle("网格安全巡查")
            .refreshable { model.refresh() }
        }
    }
}
