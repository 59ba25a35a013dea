package cn.gridsafe

import cn.gridsafe.core.GridSafeException
import cn.gridsafe.core.GridStore
import java.security.SecureRandom

/**
 * Where the app keeps the store's key: on Android [cn.gridsafe.app.KeystoreVault] (values
 * encrypted by a non-exportable Android Keystore key), on iOS the Keychain (GridSafeKit's
 * `StoreKeys`), in tests a map.
 */
interface KeyVault {
    fun get(name: String): ByteArray?
    fun put(name: String, value: ByteArray)
    fun remove(name: String)
}

/**
 * The store's encryption key, from first launch to rotation. A new key is saved as *pending*
 * before the store is rewritten under it and promoted after, so an app killed at any moment of a
 * rotation still opens its store: with the current key if the rewrite had not replaced the file
 * yet, with the pending one if it had.
 */
class StoreKeys(private val vault: KeyVault, private val random: SecureRandom = SecureRandom()) {
    /** Opens (or creates) the encrypted store at [path]; a store from an unencrypted app version is encrypted. */
    fun open(path: String): GridStore {
        val current = vault.get(CURRENT) ?: newKey().also { vault.put(CURRENT, it) }
        val pending = vault.get(PENDING)
        return try {
            GridStore.openEncrypted(path, current).also { if (pending != null) vault.remove(PENDING) }
        } catch (e: GridSafeException.WrongKey) {
            val next = pending ?: throw e
            GridStore.openEncrypted(path, next).also {
                vault.put(CURRENT, next)
                vault.remove(PENDING)
            }
        }
    }

    /** Re-encrypts [store] under a fresh key. Refused while a sync runs (`Refused`, code `sync_running`). */
    fun rotate(store: GridStore) {
        val next = newKey()
        vault.put(PENDING, next)
        try {
            store.rekey(next)
        } catch (e: GridSafeException) {
            vault.remove(PENDING)
            throw e
        }
        vault.put(CURRENT, next)
        vault.remove(PENDING)
    }

    private fun newKey(): ByteArray = ByteArray(KEY_BYTES).also { random.nextBytes(it) }

    companion object {
        const val KEY_BYTES = 32
        const val CURRENT = "gridsafe.store.key"
        const val PENDING = "gridsafe.store.key.pending"
    }
}
