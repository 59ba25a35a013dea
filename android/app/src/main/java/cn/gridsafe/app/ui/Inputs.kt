package cn.gridsafe.app.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.ExperimentalLayoutApi
import androidx.compose.foundation.layout.FlowRow
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.FilterChip
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import cn.gridsafe.app.R
import cn.gridsafe.core.FieldAnswer
import cn.gridsafe.core.FieldInput

/**
 * The input a field takes, drawn from its type; [answer] gets what the worker gave. Figures go
 * as typed (`FieldAnswer.Typed`): the core reads them and says what is wrong. [tag] names the
 * input for tests and accessibility tools. [live]: typed text is given as it changes (a form saved
 * as a whole); otherwise on 确定 (the walk saves and judges each answer as it is given).
 */
@OptIn(ExperimentalLayoutApi::class)
@Composable
fun FieldEntry(
    tag: String,
    input: FieldInput,
    selected: Set<String>,
    allowNotApplicable: Boolean,
    live: Boolean = false,
    answer: (FieldAnswer) -> Unit,
) {
    when (input) {
        is FieldInput.YesNo -> Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            Choice(tag, "yes", stringResource(R.string.yes), "yes" in selected) { answer(FieldAnswer.Yes) }
            Choice(tag, "no", stringResource(R.string.no), "no" in selected) { answer(FieldAnswer.No) }
            if (allowNotApplicable) {
                Choice(tag, "na", stringResource(R.string.not_applicable), "na" in selected) { answer(FieldAnswer.NotApplicable) }
            }
        }
        is FieldInput.Number -> Typed(tag, input.unit, KeyboardType.Decimal, live, answer)
        is FieldInput.Count -> Typed(tag, "", KeyboardType.Number, live, answer)
        is FieldInput.Text -> Typed(tag, "", KeyboardType.Text, live) { a ->
            answer(if (a is FieldAnswer.Typed) FieldAnswer.Text(a.text) else a)
        }
        is FieldInput.Choice -> FlowRow(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            for (o in input.options) Choice(tag, o.key, o.label, o.key in selected) { answer(FieldAnswer.Choice(o.key)) }
        }
        is FieldInput.Multi -> FlowRow(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            for (o in input.options) {
                Choice(tag, o.key, o.label, o.key in selected) {
                    val next = if (o.key in selected) selected - o.key else selected + o.key
                    answer(FieldAnswer.Multi(next.toList()))
                }
            }
        }
    }
}

@Composable
private fun Choice(tag: String, key: String, label: String, on: Boolean, click: () -> Unit) {
    FilterChip(on, click, label = { Text(label) }, modifier = Modifier.testTag("$tag:$key"))
}

@Composable
private fun Typed(tag: String, unit: String, keyboard: KeyboardType, live: Boolean, answer: (FieldAnswer) -> Unit) {
    var text by rememberSaveable(tag) { mutableStateOf("") }
    Row(Modifier.fillMaxWidth()) {
        OutlinedTextField(
            text,
            {
                text = it
                if (live) answer(FieldAnswer.Typed(it))
            },
            suffix = if (unit.isNotEmpty()) ({ Text(unit) }) else null,
            singleLine = keyboard != KeyboardType.Text,
            keyboardOptions = KeyboardOptions(keyboardType = keyboard),
            modifier = Modifier.weight(1f).testTag("$tag:input"),
        )
        if (!live) {
            TextButton(onClick = { answer(FieldAnswer.Typed(text)) }, modifier = Modifier.padding(start = 4.dp).testTag("$tag:ok")) {
                Text(stringResource(R.string.confirm))
            }
        }
    }
}
