// The store's encryption key in the iOS Keychain, from first launch to rotation — the same
// protocol as Android's StoreKeys (android/bindings-jvm/.../StoreKeys.kt, tested on the JVM): a
// new key is saved as pending before the store is rewritten under it and promoted after, so an app
// killed mid-rotation still opens its store with one of the two.
import Foundation
import Security

public struct KeychainVault {
    let service = "cn.gridsafe.store"

    public init() {}

    private func query(_ name: String) -> [String: Any] {
        [kSecClass as String: kSecClassGenericPassword,
         kSecAttrService as String: service,
         kSecAttrAccount as String: name]
    }

    public func get(_ name: String) -> Data? {
        var q = query(name)
        q[kSecReturnData as String] = true
        q[kSecMatchLimit as String] = kSecMatchLimitOne
        var out: AnyObject?
        return SecItemCopyMatching(q as CFDictionary, &out) == errSecSuccess ? out as? Data : nil
    }

    public func put(_ name: String, _ value: Data) throws {
        SecItemDelete(query(name) as CFDictionary)
        var q = query(name)
        q[kSecValueData as String] = value
        // Readable after the first unlock (background sync), never in a backup or on another device.
        q[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let status = SecItemAdd(q as CFDictionary, nil)
        guard status == errSecSuccess else { throw NSError(domain: NSOSStatusErrorDomain, code: Int(status)) }
    }

    public func remove(_ name: String) {
        SecItemDelete(query(name) as CFDictionary)
    }
}

public struct StoreKeys {
    static let current = "store.key"
    static let pending = "store.key.pending"
    let vault: KeychainVault

    public init(vault: KeychainVault = KeychainVault()) { self.vault = vault }

    private func newKey() throws -> Data {
        var bytes = [UInt8](repeating: 0, count: 32)
        guard SecRandomCopyBytes(kSecRandomDefault, bytes.count, &bytes) == errSecSuccess else {
            throw NSError(domain: NSOSStatusErrorDomain, code: Int(errSecAllocate))
        }
        return Data(bytes)
    }

    /// Opens (or creates) the encrypted store; an unencrypted store from an older app is encrypted.
    public func open(path: String) throws -> GridStore {
        let key: Data
        if let k = vault.get(Self.current) { key = k } else { key = try newKey(); try vault.put(Self.current, key) }
        let pending = vault.get(Self.pending)
        do {
            let store = try GridStore.openEncrypted(path: path, key: key)
            if pending != nil { vault.remove(Self.pending) }
            return store
        } catch GridSafeError.WrongKey(let reason) {
            guard let next = pending else { throw GridSafeError.WrongKey(reason: reason) }
            let store = try GridStore.openEncrypted(path: path, key: next)
            try vault.put(Self.current, next)
            vault.remove(Self.pending)
            return store
        }
    }

    /// Re-encrypts the store under a fresh key (refused while a sync runs).
    public func rotate(_ store: GridStore) throws {
        let next = try newKey()
        try vault.put(Self.pending, next)
        do { try store.rekey(newKey: next) } catch { vault.remove(Self.pending); throw error }
        try vault.put(Self.current, next)
        vault.remove(Self.pending)
    }
}
