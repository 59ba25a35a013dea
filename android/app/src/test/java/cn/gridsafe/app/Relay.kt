package cn.gridsafe.app

import java.io.File
import java.net.URI
import java.net.URLEncoder
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.util.concurrent.TimeUnit

/** A real relay (the host-built gridsafe-server) with the demo directory, for one test class. */
class Relay {
    val root = File(System.getProperty("gridsafe.root") ?: "../..").canonicalFile
    private val lib = File(System.getProperty("gridsafe.lib") ?: "../../target/debug").canonicalFile
    private val data = Files.createTempDirectory("gridsafe-relay").toFile()
    private val process: Process
    val url: String

    init {
        admin("directory", File(root, "examples/lvxiang-directory.json").path)
        for (u in listOf("wang", "zheng", "office")) admin("passwd", u, env = mapOf("GRIDSAFE_PASSWORD" to "correct horse"))
        process = server("serve", "--data", data.path, "--listen", "127.0.0.1:0", env = mapOf("RUST_LOG" to "warn"))
        val line = process.inputStream.bufferedReader().readLine() ?: error("the relay did not start")
        url = line.removePrefix("listening on ").trim()
    }

    /** A one-time enrolment code for [user], as the office prints it. */
    fun enrolCode(user: String): String {
        val out = admin("enrol-code", user)
        return Regex("""for $user: (\S+)""").find(out)?.groupValues?.get(1) ?: error("no code in: $out")
    }

    /** A 12345 ticket the town office enters on its intake page, signed in as a browser would be. */
    fun enterTicket(no: String, received: String, address: String, description: String, kind: String, grid: String) {
        val http = HttpClient.newHttpClient()
        // The cookies a browser would keep (the sign-in form's token, then the session).
        val cookies = mutableMapOf<String, String>()
        fun send(path: String, form: Map<String, String>?): String {
            val req = HttpRequest.newBuilder(URI(url + path))
            if (cookies.isNotEmpty()) req.header("Cookie", cookies.entries.joinToString("; ") { (k, v) -> "$k=$v" })
            if (form != null) {
                val body = form.entries.joinToString("&") { (k, v) -> k + "=" + URLEncoder.encode(v, Charsets.UTF_8) }
                req.header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString(body))
            }
            val r = http.send(req.build(), HttpResponse.BodyHandlers.ofString())
            for (c in r.headers().allValues("set-cookie")) {
                val (k, v) = c.substringBefore(';').split('=', limit = 2)
                cookies[k.trim()] = v.trim()
            }
            check(r.statusCode() in 200..399) { "$path: ${r.statusCode()} ${r.body().take(300)}" }
            return r.body()
        }
        fun token(page: String, name: String) =
            Regex("""name="$name" value="([^"]+)"""").find(page)?.groupValues?.get(1) ?: error("no $name in the page")
        send("/login", mapOf("user" to "office", "password" to "correct horse", "nonce" to token(send("/login", null), "nonce")))
        val page = send(
            "/intake/tickets",
            mapOf(
                "csrf" to token(send("/intake", null), "csrf"), "ticket_no" to no, "channel" to "12345",
                "received_at" to received, "address" to address, "description" to description, "category" to kind, "grid" to grid,
            ),
        )
        check(no in page) { "the intake page does not list $no" }
    }

    private fun server(vararg args: String, env: Map<String, String> = emptyMap()): Process =
        ProcessBuilder(listOf(File(lib, "gridsafe-server").path) + args)
            .also { it.environment().putAll(env) }
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start()

    private fun admin(vararg args: String, env: Map<String, String> = emptyMap()): String {
        val p = server("admin", "--data", data.path, *args, env = env)
        val out = p.inputStream.bufferedReader().readText()
        check(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) { "admin ${args.toList()} failed: $out" }
        return out
    }

    fun stop() {
        process.destroy()
        // A relay still closing connections after ten seconds is not left running past the tests.
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
        data.deleteRecursively()
    }
}
