// The field app's screens, rendered: each view asks the core (GridSafeKit) for its screen and lays
// it out; every list, question, rule, state, action and refusal arrives decided and in words. The
// same screens as android/app (see ios/README.md: not built here, no Swift toolchain).
import GridSafeKit
import PhotosUI
import SwiftUI
import WebKit

struct EnrolView: View {
    @EnvironmentObject var model: AppModel
    @State private var server = "https://"
    @State private var user = ""
    @State private var code = ""
    @State private var problem: String?
    @State private var busy = false

    var body: some View {
        Form {
            Section(footer: Text("请输入镇安委办发给你的中继地址、用户名和一次性登记码。")) {
                TextField("中继地址", text: $server).textInputAutocapitalization(.never)
                TextField("用户名", text: $user).textInputAutocapitalization(.never)
                TextField("一次性登记码", text: $code)
            }
            if let problem { Text(problem).foregroundStyle(.red) }
            Button(busy ? "正在登记…" : "登记") {
                busy = true
                Task {
                    do {
                        _ = try await model.store.enroll(server: server, user: user, secret: .code(code: code), deviceName: UIDevice.current.name)
                        // The first sync brings the directory and what waits in the worker's grids.
                        _ = try? await model.store.sync(originals: false, listener: nil, cancel: CancelHandle())
                        model.user = user
                    } catch {
                        problem = reason(error)
                    }
                    busy = false
                }
            }.disabled(busy)
        }.navigationTitle("登记本机")
    }
}

/// Loads a screen from the core, shows the reason when it cannot, reloads on `reload()`.
struct Loading<T, Content: View>: View {
    let load: () async throws -> T
    @ViewBuilder let content: (T, @escaping () -> Void) -> Content
    @State private var value: T?
    @State private var problem: String?
    @State private var generation = 0

    var body: some View {
        Group {
            if let value { content(value) { generation += 1 } }
            else if let problem { VStack { Text(problem).foregroundStyle(.red); Button("重试") { generation += 1 } } }
            else { ProgressView() }
        }
        .task(id: generation) {
            do { value = try await load(); problem = nil } catch { problem = reason(error) }
        }
    }
}

struct TodayView: View {
    @EnvironmentObject var model: AppModel
    let user: String

    var body: some View {
        Loading(load: { try model.store.today(user: user, lang: model.lang) }) { t, _ in
            List {
                Text(t.syncLine)
                if let w = t.syncWarning { Text(w).foregroundStyle(.red) }
                ForEach(t.sections, id: \.title) { s in
                    Section("\(s.title)（\(s.count)）") {
                        ForEach(s.rows, id: \.title) { row in
                            switch row.opens {
                            case let .hazard(id): NavigationLink { HazardView(user: user, id: id) } label: { RowText(row.title, row.detail) }
                            case let .venue(id): NavigationLink { VenueFileView(user: user, id: id) } label: { RowText(row.title, row.detail) }
                            case let .ticket(id): NavigationLink { TicketView(user: user, id: id) } label: { RowText(row.title, row.detail) }
                            }
                        }
                    }
                }
            }
        }.navigationTitle("今日")
    }
}

struct RowText: View {
    let title: String, detail: String
    init(_ title: String, _ detail: String) { self.title = title; self.detail = detail }
    var body: some View { VStack(alignment: .leading) { Text(title); Text(detail).font(.caption).foregroundStyle(.secondary) } }
}

struct VenuesView: View {
    @EnvironmentObject var model: AppModel
    let user: String
    @State private var text = ""

    var body: some View {
        Loading(load: { try model.store.venueList(user: user, filter: VenueFilter(text: text, notInspectedThisMonth: false, withOpenHazards: false, page: 0), lang: model.lang) }) { page, _ in
            List {
                NavigationLink("新增场所") { VenueFormView(user: user, id: nil) }
                ForEach(page.rows, id: \.id) { v in
                    NavigationLink { VenueFileView(user: user, id: v.id) } label: { RowText(v.name, "\(v.address)\n\(v.lastInspection)") }
                }
            }
        }
        .id(text)
        .searchable(text: $text, prompt: "搜索场所名称或地址")
        .navigationTitle("场所")
    }
}

struct VenueFileView: View {
    @EnvironmentObject var model: AppModel
    let user: String, id: String
    @State private var walk: String?

    var body: some View {
        Loading(load: { try model.store.venueFile(user: user, venueId: id, lang: model.lang) }) { f, _ in
            List {
                Section { RowText(f.name, "\(f.address)\n\(f.grid) · \(f.responsible)") }
                Section("检查表") {
                    ForEach(f.checklists, id: \.templateId) { c in
                        HStack {
                            RowText(c.title, c.why)
                            if c.applies {
                                Button("开始检查") { walk = try? model.store.startInspection(user: user, venueId: id, templateId: c.templateId).id }
                            }
                        }
                    }
                }
                Section("未整改隐患") {
                    ForEach(f.openHazards, id: \.id) { h in NavigationLink { HazardView(user: user, id: h.id) } label: { RowText(h.title, h.detail) } }
                }
                Section("场所情况") { ForEach(f.profile, id: \.label) { p in RowText(p.label, p.value) } }
                Section("检查记录") {
                    ForEach(f.inspections, id: \.id) { i in NavigationLink { WalkView(user: user, id: i.id) } label: { RowText(i.title, i.detail) } }
                }
                NavigationLink("编辑场所") { VenueFormView(user: user, id: id) }
                NavigationLink("整改通知书") { NoticeView(user: user, venueId: id) }
            }
            .navigationDestination(item: $walk) { WalkView(user: user, id: $0) }
        }.navigationTitle("场所")
    }
}

struct VenueFormView: View {
    @EnvironmentObject var model: AppModel
    @Environment(\.dismiss) private var dismiss
    let user: String, id: String?
    @State private var answers: [String: FieldAnswer] = [:]
    @State private var problem: String?

    var body: some View {
        Loading(load: { try model.store.venueForm(user: user, venueId: id, lang: model.lang) }) { questions, _ in
            Form {
                ForEach(questions, id: \.key) { q in
                    Section(header: Text(q.label), footer: Text(q.why)) {
                        if let v = q.value { Text("现记录：\(v)").font(.caption) }
                        FieldEntry(input: q.input) { answers[q.key] = $0 }
                    }
                }
                if let problem { Text(problem).foregroundStyle(.red) }
                Button("保存") {
                    do {
                        _ = try model.store.saveVenue(user: user, venueId: id, answers: answers.map { FormAnswer(key: $0.key, answer: $0.value) }, lang: model.lang)
                        dismiss()
                    } catch { problem = reason(error) }
                }
            }
        }.navigationTitle(id == nil ? "新增场所" : "编辑场所")
    }
}

/// A field's input from its type; figures go to the core as typed.
struct FieldEntry: View {
    let input: FieldInput
    let answer: (FieldAnswer) -> Void
    @State private var text = ""
    @State private var picked: Set<String> = []

    var body: some View {
        switch input {
        case .yesNo:
            HStack { Button("是") { answer(.yes) }; Button("否") { answer(.no) }; Button("不适用") { answer(.notApplicable) } }.buttonStyle(.bordered)
        case let .number(unit):
            HStack { TextField(unit, text: $text).keyboardType(.decimalPad); Button("确定") { answer(.typed(text: text)) } }
        case .count:
            HStack { TextField("", text: $text).keyboardType(.numberPad); Button("确定") { answer(.typed(text: text)) } }
        case .text:
            HStack { TextField("", text: $text); Button("确定") { answer(.text(value: text)) } }
        case let .choice(options):
            ForEach(options, id: \.key) { o in Button(o.label) { answer(.choice(key: o.key)) } }
        case let .multi(options):
            ForEach(options, id: \.key) { o in
                Toggle(o.label, isOn: Binding(get: { picked.contains(o.key) }, set: { on in
                    if on { picked.insert(o.key) } else { picked.remove(o.key) }
                    answer(.multi(keys: Array(picked)))
                }))
            }
        }
    }
}

struct WalkView: View {
    @EnvironmentObject var model: AppModel
    let user: String, id: String
    @State private var walk: WalkScreen?
    @State private var problem: (String, String)?
    @State private var photoFor: String?

    var body: some View {
        List {
            if let w = walk {
                Section { RowText(w.venueName, "\(w.checklist) · 已答 \(w.answered)/\(w.total)") }
                ForEach(w.items, id: \.id) { item in
                    Section("\(item.number). \(item.question)") {
                        ForEach(item.fields, id: \.key) { f in
                            Text(f.label)
                            if let rule = f.rule { Text(rule).font(.caption).foregroundStyle(.green) }
                            if let a = f.answer { Text("✓ \(a)") }
                            if !w.finished { FieldEntry(input: f.input) { a in answer(item.id, f.key, a) } }
                        }
                        ForEach(item.findings, id: \.self) { Text($0).foregroundStyle(.red) }
                        if let need = item.photo, !w.finished {
                            Button("拍照（\(need)）") { photoFor = item.id }
                        }
                        if let (at, text) = problem, at == item.id { Text(text).foregroundStyle(.red) }
                    }
                }
                if !w.finished {
                    Section("完成前还需处理") { ForEach(w.blockers, id: \.itemId) { b in Text("\(b.number). \(b.question)：\(b.why)") } }
                    NavigationLink("查看将登记的隐患") { FindingsView(user: user, id: id) }.disabled(!w.canFinish)
                }
            }
        }
        .task { walk = try? model.store.walk(inspectionId: id, lang: model.lang) }
        .sheet(item: $photoFor) { item in
            CameraView { data in
                photoFor = nil
                Task {
                    do {
                        _ = try await model.store.attachPhoto(user: user, inspectionId: id, photo: PhotoInput(bytes: data, itemId: item, role: "before"))
                        walk = try model.store.walk(inspectionId: id, lang: model.lang)
                    } catch { problem = (item, reason(error)) }
                }
            }
        }
        .navigationTitle("检查")
    }

    private func answer(_ item: String, _ key: String, _ a: FieldAnswer) {
        do {
            walk = try model.store.answerField(user: user, inspectionId: id, itemId: item, fieldKey: key, answer: a, lang: model.lang)
            problem = nil
        } catch { problem = (item, reason(error)) }
    }
}

struct FindingsView: View {
    @EnvironmentObject var model: AppModel
    @Environment(\.dismiss) private var dismiss
    let user: String, id: String
    @State private var onSpot: [String: Bool] = [:]
    @State private var problem: String?

    var body: some View {
        Loading(load: { try model.store.findings(inspectionId: id, lang: model.lang) }) { findings, _ in
            List {
                ForEach(findings, id: \.itemId) { f in
                    Section(f.question) {
                        Text(f.finding).foregroundStyle(.red)
                        Text("\(f.severity) · \(f.departments)")
                        ForEach(f.basis, id: \.self) { Text($0).font(.caption) }
                        if f.onSpotAllowed && !f.alreadyOpen {
                            Toggle("即改（现场整改）", isOn: Binding(get: { onSpot[f.itemId] ?? f.defaultOnSpot }, set: { onSpot[f.itemId] = $0 }))
                        }
                        Text("整改期限：\((onSpot[f.itemId] ?? f.defaultOnSpot) && f.onSpotAllowed ? f.onSpotDeadline : f.deadline)")
                    }
                }
                if let problem { Text(problem).foregroundStyle(.red) }
                Button("登记隐患并完成检查") {
                    let choices = findings.filter { $0.onSpotAllowed && !$0.alreadyOpen }.map {
                        FixChoice(itemId: $0.itemId, fixMode: (onSpot[$0.itemId] ?? $0.defaultOnSpot) ? "on_spot" : "deadline")
                    }
                    do {
                        _ = try model.store.finishInspectionWith(user: user, inspectionId: id, fixModes: choices)
                        Task { await model.syncNow(originals: false) }
                        dismiss()
                    } catch { problem = reason(error) }
                }
            }
        }.navigationTitle("将登记的隐患")
    }
}

struct HazardView: View {
    @EnvironmentObject var model: AppModel
    let user: String, id: String
    @State private var problem: String?
    @State private var photo: (String, Data)?
    @State private var photoRole: String?
    @State private var text = ""
    @State private var deadline = ""

    var body: some View {
        Loading(load: { try model.store.hazardScreen(user: user, hazardId: id, lang: model.lang) }) { h, reload in
            List {
                Section { RowText(h.title, "\(h.venue)\n\(h.finding)\n\(h.state) · \(h.severity)\n\(h.departments)") }
                Section("可办理") {
                    ForEach(h.actions, id: \.label) { offer in
                        VStack(alignment: .leading) {
                            Text(offer.label).bold()
                            ForEach(Array(offer.needs.enumerated()), id: \.offset) { _, need in
                                switch need {
                                case let .photo(role, label): Button("拍照：\(label)") { photoRole = role }
                                case let .deadline(label): TextField(label, text: $deadline)
                                case let .text(label): TextField(label, text: $text)
                                }
                            }
                            Button("提交") {
                                Task {
                                    do {
                                        _ = try await model.store.transition(user: user, hazardId: id, action: ActionInput(
                                            action: offer.action, reason: nil,
                                            deadline: deadline.isEmpty ? nil : deadline, text: text.isEmpty ? nil : text,
                                            photo: photo.map { PhotoInput(bytes: $0.1, itemId: nil, role: $0.0) }, plan: nil))
                                        problem = nil
                                        reload()
                                    } catch { problem = reason(error) }
                                }
                            }
                        }
                    }
                    if let problem { Text(problem).foregroundStyle(.red) }
                }
                Section("处置记录") { ForEach(Array(h.history.enumerated()), id: \.offset) { _, e in RowText("\(e.at) \(e.what)", e.who) } }
            }
        }
        .sheet(item: $photoRole) { role in CameraView { data in photo = (role, data); photoRole = nil } }
        .navigationTitle("隐患")
    }
}

struct TicketView: View {
    @EnvironmentObject var model: AppModel
    let user: String, id: String
    @State private var substantiated: Bool?
    @State private var venue: String?
    @State private var item: String?
    @State private var finding = ""
    @State private var whyNot = ""
    @State private var photo: Data?
    @State private var camera: String?
    @State private var problem: String?

    var body: some View {
        Loading(load: { try model.store.ticketScreen(user: user, ticketId: id, lang: model.lang) }) { t, reload in
            List {
                Section { RowText(t.title, "\(t.received)\n\(t.address) · \(t.domain) · \(t.grid)\n\(t.description)") }
                Section { Text(t.status).bold(); if let v = t.verified { Text(v).font(.caption) }; if let r = t.reason { Text(r) }
                    if let h = t.hazardId { NavigationLink("查看登记的隐患") { HazardView(user: user, id: h) } } }
                if t.toVerify {
                    Section("现场核查结果") {
                        Picker("", selection: $substantiated) { Text("属实").tag(Bool?.some(true)); Text("不属实").tag(Bool?.some(false)) }
                            .pickerStyle(.segmented)
                        if substantiated == true {
                            Picker("隐患所在场所", selection: $venue) { ForEach(t.venues, id: \.id) { Text("\($0.name) · \($0.address)").tag(String?.some($0.id)) } }
                            Picker("对应的检查项", selection: $item) { Text("不对应检查项").tag(String?.none); ForEach(t.items, id: \.id) { Text($0.question).tag(String?.some($0.id)) } }
                            TextField("现场情况", text: $finding)
                            Button(photo == nil ? "现场照片" : "照片已拍好") { camera = "before" }
                        } else if substantiated == false {
                            ForEach(t.reasons, id: \.self) { r in Button(r) { whyNot = r } }
                            TextField("不属实的原因", text: $whyNot)
                        }
                        if let problem { Text(problem).foregroundStyle(.red) }
                        if let yes = substantiated {
                            Button("提交核查结果") {
                                Task {
                                    do {
                                        _ = try await model.store.verifyTicket(user: user, ticketId: id, verdict: TicketVerdict(
                                            substantiated: yes, venueId: venue, itemId: item, finding: finding, reason: whyNot,
                                            photo: photo.map { PhotoInput(bytes: $0, itemId: nil, role: "before") }), lang: model.lang)
                                        problem = nil
                                        reload()
                                    } catch { problem = reason(error) }
                                }
                            }
                        }
                    }
                }
            }
        }
        .sheet(item: $camera) { _ in CameraView { data in photo = data; camera = nil } }
        .navigationTitle("工单核查")
    }
}

struct SyncView: View {
    @EnvironmentObject var model: AppModel

    var body: some View {
        Loading(load: { try model.store.syncScreen(lang: model.lang) }) { s, reload in
            List {
                Section { Text(s.lastSync); Text(s.pending); Text(s.noticeNumbers) }
                if let w = s.clockWarning { Text(w).foregroundStyle(.red) }
                Button("立即同步（含原图）") { Task { await model.syncNow(); reload() } }
                if let m = model.syncMessage { Text(m) }
                Section("被退回的记录") {
                    ForEach(Array(s.refused.enumerated()), id: \.offset) { _, r in RowText("\(r.what)：\(r.why)", "处理：\(r.whatToDo)\n\(r.at)") }
                }
            }
        }.navigationTitle("同步")
    }
}

struct NoticeView: View {
    @EnvironmentObject var model: AppModel
    let user: String, venueId: String

    var body: some View {
        Loading(load: { try model.store.notice(user: user, venueId: venueId, lang: model.lang) }) { n, _ in
            VStack(alignment: .leading) {
                Text(n.number).font(.headline)
                Text(n.venue)
                ForEach(n.hazards, id: \.id) { h in RowText(h.title, h.detail) }
                HTMLView(html: n.html)
                ShareLink(item: n.html) { Label("分享", systemImage: "square.and.arrow.up") }
            }.padding()
        }.navigationTitle("整改通知书")
    }
}

struct HTMLView: UIViewRepresentable {
    let html: String
    func makeUIView(context: Context) -> WKWebView { WKWebView() }
    func updateUIView(_ view: WKWebView, context: Context) { view.loadHTMLString(html, baseURL: nil) }
}

/// The system camera (UIImagePickerController): the JPEG as taken; the core makes the evidence copy.
struct CameraView: UIViewControllerRepresentable {
    let taken: (Data) -> Void
    func makeCoordinator() -> Coordinator { Coordinator(taken) }
    func makeUIViewController(context: Context) -> UIImagePickerController {
        let picker = UIImagePickerController()
        picker.sourceType = UIImagePickerController.isSourceTypeAvailable(.camera) ? .camera : .photoLibrary
        picker.delegate = context.coordinator
        return picker
    }
    func updateUIViewController(_ controller: UIImagePickerController, context: Context) {}

    final class Coordinator: NSObject, UIImagePickerControllerDelegate, UINavigationControllerDelegate {
        let taken: (Data) -> Void
        init(_ taken: @escaping (Data) -> Void) { self.taken = taken }
        func imagePickerController(_ picker: UIImagePickerController, didFinishPickingMediaWithInfo info: [UIImagePickerController.InfoKey: Any]) {
            if let image = info[.originalImage] as? UIImage, let data = image.jpegData(compressionQuality: 0.92) { taken(data) }
        }
    }
}

extension String: @retroactive Identifiable { public var id: String { self } }
