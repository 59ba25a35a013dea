package cn.gridsafe.app.ui

import androidx.compose.foundation.background
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.MutableState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableIntStateOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import cn.gridsafe.app.R
import cn.gridsafe.core.GridSafeException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/** A screen's data as it loads: nothing yet, the data, or why it could not be read. */
sealed interface Loaded<out T> {
    data object Loading : Loaded<Nothing>
    data class Ready<T>(val value: T) : Loaded<T>
    data class Failed(val reason: String) : Loaded<Nothing>
}

/** What a failure says to a person: the core's reason, already in words (never the exception's dump). */
fun reasonOf(e: GridSafeException): String = when (e) {
    is GridSafeException.InvalidInput -> e.reason
    is GridSafeException.Refused -> e.reason
    is GridSafeException.NotFound -> e.reason
    is GridSafeException.Incomplete -> e.reason
    is GridSafeException.Storage -> e.reason
    is GridSafeException.WrongKey -> e.reason
    is GridSafeException.Network -> e.reason
    is GridSafeException.Unauthorized -> e.reason
    is GridSafeException.Cancelled -> e.reason
    is GridSafeException.Closed -> e.reason
}

/**
 * Loads [block] (its calls suspend off the main thread; the result is set on it) (the screens' suspend calls run on IO) each time [keys] or
 * the returned reload counter change.
 */
@Composable
fun <T> rememberLoaded(vararg keys: Any?, block: suspend () -> T): Pair<Loaded<T>, () -> Unit> {
    val state: MutableState<Loaded<T>> = remember { mutableStateOf(Loaded.Loading) }
    var generation by remember { mutableIntStateOf(0) }
    LaunchedEffect(*keys, generation) {
        withContext(Dispatchers.Main.immediate) {
            state.value = try {
                Loaded.Ready(block())
            } catch (e: GridSafeException) {
                Loaded.Failed(reasonOf(e))
            }
        }
    }
    return state.value to { generation++ }
}

/**
 * A scope for what a tap starts: its work suspends off the main thread (the store's calls) and
 * comes back to the main thread to set what the screen shows — Compose state is written there
 * only, whatever dispatcher runs the composition.
 */
@Composable
fun rememberUiScope(): CoroutineScope = rememberCoroutineScope { Dispatchers.Main.immediate }

/**
 * Runs what a tap starts; [problem] gets the core's words when it is refused, and null when it
 * went through (a refusal shown before is cleared).
 */
fun CoroutineScope.attempt(problem: (String?) -> Unit, block: suspend () -> Unit) {
    launch {
        try {
            block()
            problem(null)
        } catch (e: GridSafeException) {
            problem(reasonOf(e))
        }
    }
}

/** The data, or while loading a line saying so, or the reason it failed with a retry. */
@Composable
fun <T> Show(loaded: Loaded<T>, retry: () -> Unit, content: @Composable (T) -> Unit) {
    when (loaded) {
        is Loaded.Loading -> Text(stringResource(R.string.loading), Modifier.padding(16.dp))
        is Loaded.Failed -> Column(Modifier.padding(16.dp)) {
            Problem(loaded.reason)
            Button(onClick = retry, modifier = Modifier.padding(top = 8.dp)) { Text(stringResource(R.string.retry)) }
        }
        is Loaded.Ready -> content(loaded.value)
    }
}

/** A refusal or a warning, in the core's words. */
@Composable
fun Problem(text: String, modifier: Modifier = Modifier) {
    Text(
        text,
        color = MaterialTheme.colorScheme.error,
        modifier = modifier
            .fillMaxWidth()
            .background(Color(0xFFFDECEA))
            .padding(12.dp)
            .testTag("problem"),
    )
}

/** A section heading. */
@Composable
fun Heading(text: String) {
    Text(
        text,
        style = MaterialTheme.typography.titleMedium,
        modifier = Modifier.padding(start = 16.dp, end = 16.dp, top = 16.dp, bottom = 4.dp),
    )
}

/** A label and its value on one row. */
@Composable
fun LabelValueRow(label: String, value: String) {
    Row(Modifier.fillMaxWidth().padding(horizontal = 16.dp, vertical = 2.dp), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
        Text(label, color = MaterialTheme.colorScheme.onSurfaceVariant, modifier = Modifier.weight(0.4f))
        Text(value, modifier = Modifier.weight(0.6f))
    }
}
