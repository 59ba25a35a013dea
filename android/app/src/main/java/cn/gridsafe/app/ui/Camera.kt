package cn.gridsafe.app.ui

import android.content.ActivityNotFoundException
import android.content.Context
import android.net.Uri
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.platform.LocalContext
import androidx.core.content.FileProvider
import java.io.File
import java.util.UUID

/** Where the camera app writes one photo: the app's cache, shared through the FileProvider. */
object PhotoFiles {
    const val AUTHORITY = "cn.gridsafe.app.photos"

    fun newFile(context: Context): File =
        File(context.cacheDir, "photos").apply { mkdirs() }.resolve("${UUID.randomUUID()}.jpg")

    fun uriOf(context: Context, file: File): Uri = FileProvider.getUriForFile(context, AUTHORITY, file)

    /** The file behind a photo uri this app handed out (what the camera app wrote). */
    fun fileOf(context: Context, uri: Uri): File = File(File(context.cacheDir, "photos"), uri.lastPathSegment ?: "")
}

/**
 * The system camera (ActivityResultContracts.TakePicture: the phone's own camera app, no camera
 * library). Returns what starts it; [onPhoto] gets the JPEG as the camera wrote it (the core makes
 * the evidence copy and reads its EXIF). A cancelled shot gives nothing; [onNoCamera] says so when
 * the phone has no camera app.
 */
@Composable
fun rememberCamera(onNoCamera: () -> Unit, onPhoto: (ByteArray) -> Unit): () -> Unit {
    val context = LocalContext.current
    // Survives the activity being recreated while the camera app is in front.
    var pending by rememberSaveable { mutableStateOf<String?>(null) }
    val launcher = rememberLauncherForActivityResult(ActivityResultContracts.TakePicture()) { taken ->
        val file = pending?.let(::File)
        pending = null
        if (taken && file != null && file.length() > 0) onPhoto(file.readBytes())
        file?.delete()
    }
    return {
        val file = PhotoFiles.newFile(context)
        pending = file.path
        try {
            launcher.launch(PhotoFiles.uriOf(context, file))
        } catch (e: ActivityNotFoundException) {
            pending = null
            onNoCamera()
        }
    }
}
