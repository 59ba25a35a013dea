package cn.gridsafe.app

import android.content.Context
import android.content.SharedPreferences
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.util.Base64
import cn.gridsafe.KeyVault
import java.security.KeyStore
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * Keeps the store key in app preferences, sealed (AES-GCM) by a key that never leaves the
 * Android Keystore (hardware-backed where the phone has it). A copied app-data backup holds only
 * ciphertext; `android:allowBackup="false"` keeps it out of cloud backups anyway.
 */
class KeystoreVault(context: Context) : KeyVault by SealedVault(
    context.getSharedPreferences("gridsafe-keys", Context.MODE_PRIVATE),
    ::androidKeystoreKey,
)

private const val ALIAS = "gridsafe-store-key-wrap"

private fun androidKeystoreKey(): SecretKey {
    val ks = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }
    (ks.getKey(ALIAS, null) as? SecretKey)?.let { return it }
    val gen = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
    gen.init(
        KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .setKeySize(256)
            .build(),
    )
    return gen.generateKey()
}

/**
 * The vault's own logic, apart from where its wrapping key lives: each value sealed with
 * AES-GCM under [wrappingKey] (a fresh IV each time, stored before the ciphertext) in [prefs].
 * A value sealed under another key, or altered, does not open (the GCM tag fails).
 */
class SealedVault(private val prefs: SharedPreferences, private val wrappingKey: () -> SecretKey) : KeyVault {
    override fun get(name: String): ByteArray? {
        val stored = prefs.getString(name, null) ?: return null
        val bytes = Base64.decode(stored, Base64.NO_WRAP)
        val cipher = Cipher.getInstance(TRANSFORM)
        cipher.init(Cipher.DECRYPT_MODE, wrappingKey(), GCMParameterSpec(128, bytes, 0, IV_BYTES))
        return cipher.doFinal(bytes, IV_BYTES, bytes.size - IV_BYTES)
    }

    override fun put(name: String, value: ByteArray) {
        val cipher = Cipher.getInstance(TRANSFORM)
        cipher.init(Cipher.ENCRYPT_MODE, wrappingKey())
        val sealed = cipher.iv + cipher.doFinal(value)
        // commit(), not apply(): the key must be on disk before the store is rewritten under it.
        check(prefs.edit().putString(name, Base64.encodeToString(sealed, Base64.NO_WRAP)).commit()) { "cannot save the store key" }
    }

    override fun remove(name: String) {
        check(prefs.edit().remove(name).commit()) { "cannot remove the store key" }
    }

    private companion object {
        const val TRANSFORM = "AES/GCM/NoPadding"
        const val IV_BYTES = 12
    }
}
