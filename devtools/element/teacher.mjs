// An Element-grade Matrix client for end-to-end tests: matrix-js-sdk with Rust crypto,
// one client per process, driven by JSON lines on stdin and answering JSON lines on stdout.
//
//   node teacher.mjs LOG_FILE        (or TEACHER_LOG=LOG_FILE node teacher.mjs)
//
// Every request is {"id": ..., "cmd": "...", ...arguments}; every request gets exactly one
// answer, {"id": ..., "result": {...}} or {"id": ..., "error": "..."}. Nothing else is ever
// written to stdout: the SDK, the Rust crypto and this script log to LOG_FILE.
// devtools/element.py is the Python side; see its docstrings for the commands:
//   start {baseUrl, userId, password, deviceName?, crossSigning?, accessToken?, deviceId?}
//         -> {userId, deviceId, ...}
//   isolation {mode: "only_signed" | "all"}; create_room {name, invite, encrypted} -> {roomId}
//   join {roomId}; wait_joined {roomId, userIds, timeoutMs}
//   send_text {roomId, body, threadRootId?, replyTo?, mentions?, msgtype?} -> {eventId}
//   send_event {roomId, type, content}; react {roomId, eventId, key, encrypted}
//   redact {roomId, eventId, reason?}; vote {roomId, pollEventId, answerIds}
//   send_poll {roomId, question, answers, maxSelections?} -> {eventId, answerIds}
//   read_receipt {roomId, eventId, threadId?}; fetch_event {roomId, eventId} -> {event}
//   messages {roomId, sinceIndex?} -> {messages}; count {roomId} -> {count}
//   user_devices {userId} -> {deviceIds}; device_status {userId, deviceId} -> {status}
//   stop

import fs from "node:fs";
import readline from "node:readline";
import util from "node:util";

// -- logging: everything but the protocol goes to the log file -----------------------------

const logPath = process.argv[2] || process.env.TEACHER_LOG;
if (!logPath) {
    process.stderr.write("usage: node teacher.mjs LOG_FILE\n");
    process.exit(2);
}
const logFd = fs.openSync(logPath, "a");
function writeLog(level, args) {
    const line = `${new Date().toISOString()} ${level} ${util.format(...args)}\n`;
    try {
        fs.writeSync(logFd, line);
    } catch {
        // The log is best effort; never let it break the protocol.
    }
}
const protocolWrite = process.stdout.write.bind(process.stdout);
// Anything that writes to stdout behind our back would corrupt the protocol.
process.stdout.write = (chunk, encoding, callback) => {
    writeLog("STDOUT", [String(chunk).trimEnd()]);
    if (typeof encoding === "function") encoding();
    else if (typeof callback === "function") callback();
    return true;
};
for (const level of ["log", "info", "warn", "error", "debug", "trace"]) {
    console[level] = (...args) => writeLog(level.toUpperCase(), args);
}
process.on("unhandledRejection", (reason) => writeLog("UNHANDLED", [reason]));
process.on("uncaughtException", (error) => writeLog("UNCAUGHT", [error]));

function answer(message) {
    protocolWrite(JSON.stringify(message) + "\n");
}

// The SDK is imported after console is redirected: some modules log when loaded.
const sdk = await import("matrix-js-sdk");
const cryptoApi = await import("matrix-js-sdk/lib/crypto-api/index.js");
const { PollResponseEvent } = await import(
    "matrix-js-sdk/lib/extensible_events_v1/PollResponseEvent.js"
);
const { PollStartEvent } = await import("matrix-js-sdk/lib/extensible_events_v1/PollStartEvent.js");
const { M_POLL_KIND_DISCLOSED } = await import("matrix-js-sdk/lib/@types/polls.js");

// -- state (one client per process) ---------------------------------------------------------

let client = null;
let password = null;
// Transaction ids of reactions to encrypt, as Element X does.
const encryptedReactionTxnIds = new Set();
// Per room: the events seen, in the order they became known with a server-assigned id.
const seenByRoom = new Map();

function mustClient() {
    if (client === null) throw new Error("not started: send 'start' first");
    return client;
}

function mustCrypto() {
    const crypto = mustClient().getCrypto();
    if (!crypto) throw new Error("crypto is not initialised");
    return crypto;
}

function record(event) {
    const roomId = event.getRoomId();
    const eventId = event.getId();
    // Local echoes carry a temporary "~" id until the server answers: see LocalEchoUpdated.
    if (!roomId || !eventId || eventId.startsWith("~")) return;
    let seen = seenByRoom.get(roomId);
    if (!seen) {
        seen = { events: [], ids: new Set() };
        seenByRoom.set(roomId, seen);
    }
    if (seen.ids.has(eventId)) return;
    seen.ids.add(eventId);
    seen.events.push(event);
}

function recordLiveTimelines() {
    for (const room of client.getRooms()) {
        for (const event of room.getLiveTimeline().getEvents()) record(event);
    }
}

// -- helpers --------------------------------------------------------------------------------

function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(what, timeoutMs, predicate) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (await predicate()) return;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
        await sleep(50);
    }
}

function waitForSyncPrepared(timeoutMs) {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            client.off(sdk.ClientEvent.Sync, onSync);
            reject(new Error(`no PREPARED sync state after ${timeoutMs} ms`));
        }, timeoutMs);
        function onSync(state) {
            if (state === "PREPARED") {
                clearTimeout(timer);
                client.off(sdk.ClientEvent.Sync, onSync);
                resolve();
            }
        }
        client.on(sdk.ClientEvent.Sync, onSync);
    });
}

// Answers the user-interactive auth of /keys/device_signing/upload as Element does with a
// password: first try without auth (Synapse allows the first upload, MSC3967), then
// m.login.password with the session the server gave.
async function authUploadDeviceSigningKeys(makeRequest) {
    try {
        await makeRequest(null);
        return;
    } catch (error) {
        const session = error?.data?.session;
        if (error?.httpStatus !== 401 || !session) throw error;
        writeLog("INFO", ["device signing upload needs UIA; answering with m.login.password"]);
        await makeRequest({
            type: "m.login.password",
            identifier: { type: "m.id.user", user: client.getUserId() },
            password,
            session,
        });
    }
}

function pushFor(event) {
    // Servers never notify a user about their own events; Element ignores them too.
    if (event.getSender() === client.getUserId()) {
        return { notify: false, highlight: false, ruleId: null };
    }
    const details = client.getPushDetailsForEvent(event, true);
    const actions = details?.actions;
    return {
        notify: Boolean(actions?.notify),
        highlight: Boolean(actions?.tweaks?.highlight),
        ruleId: details?.rule?.rule_id ?? null,
    };
}

async function describe(event, index) {
    if (event.isEncrypted()) {
        try {
            await client.decryptEventIfNeeded(event);
            await event.getDecryptionPromise();
        } catch (error) {
            writeLog("WARN", ["decrypting", event.getId(), error]);
        }
    }
    const failed = event.isDecryptionFailure();
    let shield = null;
    if (event.isEncrypted() && !failed) {
        const info = await mustCrypto().getEncryptionInfoForEvent(event);
        if (info) {
            shield = {
                colour: cryptoApi.EventShieldColour[info.shieldColour],
                reason:
                    info.shieldReason === null
                        ? null
                        : cryptoApi.EventShieldReason[info.shieldReason],
            };
        }
    }
    return {
        index,
        eventId: event.getId(),
        sender: event.getSender(),
        // A failed decryption shows its wire type and content, not the SDK's placeholder.
        type: failed ? event.getWireType() : event.getType(),
        content: failed ? event.getWireContent() : event.getContent(),
        encrypted: event.isEncrypted(),
        decryptionFailure: failed ? (event.decryptionFailureReason ?? "UNKNOWN_ERROR") : null,
        shield,
        push: pushFor(event),
        redacted: event.isRedacted(),
        originServerTs: event.getTs(),
    };
}

function findEvent(roomId, eventId) {
    const seen = seenByRoom.get(roomId);
    const event = seen?.events.find((e) => e.getId() === eventId);
    return event ?? client.getRoom(roomId)?.findEventById(eventId) ?? null;
}

async function sendEvent(roomId, type, content, txnId) {
    const response = await mustClient().sendEvent(roomId, null, type, content, txnId);
    return { eventId: response.event_id };
}

// -- commands -------------------------------------------------------------------------------

const commands = {
    async start({
        baseUrl, userId, password: userPassword, deviceName, crossSigning = true,
        accessToken, deviceId,
    }) {
        if (client !== null) throw new Error("already started");
        password = userPassword;
        // A session from an authorization server (MAS) comes with its token: no password login.
        const login = accessToken
            ? { user_id: userId, access_token: accessToken, device_id: deviceId }
            : await sdk.createClient({ baseUrl }).loginRequest({
                  type: "m.login.password",
                  identifier: { type: "m.id.user", user: userId },
                  password,
                  initial_device_display_name: deviceName ?? "Element (rupn-bot tests)",
              });
        client = sdk.createClient({
            baseUrl,
            userId: login.user_id,
            accessToken: login.access_token,
            deviceId: login.device_id,
            timelineSupport: true,
        });
        client.on(sdk.RoomEvent.Timeline, (event) => record(event));
        client.on(sdk.RoomEvent.LocalEchoUpdated, (event) => {
            if (event.status === null || event.status === sdk.EventStatus.SENT) record(event);
        });
        const original = client.shouldEncryptEventForRoom.bind(client);
        client.shouldEncryptEventForRoom = async (event, room) => {
            if (
                event.getType() === sdk.EventType.Reaction &&
                encryptedReactionTxnIds.has(event.getTxnId()) &&
                !event.isEncrypted()
            ) {
                return room.hasEncryptionStateEvent();
            }
            return original(event, room);
        };
        await client.initRustCrypto({ useIndexedDB: false });
        const prepared = waitForSyncPrepared(60_000);
        await client.startClient({ initialSyncLimit: 20 });
        await prepared;
        recordLiveTimelines();
        const crypto = mustCrypto();
        if (crossSigning) {
            await crypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys });
        }
        return {
            userId: login.user_id,
            deviceId: login.device_id,
            crossSigningReady: await crypto.isCrossSigningReady(),
            cryptoVersion: crypto.getVersion(),
        };
    },

    async isolation({ mode }) {
        const crypto = mustCrypto();
        if (mode === "only_signed") {
            crypto.setDeviceIsolationMode(new cryptoApi.OnlySignedDevicesIsolationMode());
        } else if (mode === "all") {
            crypto.setDeviceIsolationMode(new cryptoApi.AllDevicesIsolationMode(false));
        } else {
            throw new Error(`unknown isolation mode ${JSON.stringify(mode)}`);
        }
        return {};
    },

    async create_room({ name, invite = [], encrypted = true }) {
        const encryption = {
            type: "m.room.encryption",
            state_key: "",
            content: { algorithm: "m.megolm.v1.aes-sha2" },
        };
        const initialState = encrypted ? [encryption] : [];
        const response = await mustClient().createRoom({
            name,
            preset: sdk.Preset.PrivateChat,
            invite,
            initial_state: initialState,
        });
        return { roomId: response.room_id };
    },

    async join({ roomId }) {
        const room = await mustClient().joinRoom(roomId);
        return { roomId: room.roomId };
    },

    async wait_joined({ roomId, userIds, timeoutMs = 20_000 }) {
        const c = mustClient();
        await until(`${userIds} joined ${roomId}`, timeoutMs, () => {
            const room = c.getRoom(roomId);
            return (
                room !== null &&
                userIds.every((userId) => room.getMember(userId)?.membership === "join")
            );
        });
        return {};
    },

    async send_text({ roomId, body, threadRootId, replyTo, mentions = [], msgtype = "m.text" }) {
        const content = {
            msgtype,
            body,
            "m.mentions": mentions.length ? { user_ids: mentions } : {},
        };
        if (threadRootId) {
            content["m.relates_to"] = {
                rel_type: "m.thread",
                event_id: threadRootId,
                is_falling_back: !replyTo,
                "m.in_reply_to": { event_id: replyTo ?? threadRootId },
            };
        } else if (replyTo) {
            content["m.relates_to"] = { "m.in_reply_to": { event_id: replyTo } };
        }
        return sendEvent(roomId, "m.room.message", content);
    },

    async send_event({ roomId, type, content }) {
        return sendEvent(roomId, type, content);
    },

    async react({ roomId, eventId, key, encrypted = false }) {
        const content = { "m.relates_to": { rel_type: "m.annotation", event_id: eventId, key } };
        const txnId = mustClient().makeTxnId();
        if (encrypted) encryptedReactionTxnIds.add(txnId);
        try {
            return await sendEvent(roomId, sdk.EventType.Reaction, content, txnId);
        } finally {
            encryptedReactionTxnIds.delete(txnId);
        }
    },

    async redact({ roomId, eventId, reason }) {
        const opts = reason ? { reason } : {};
        const response = await mustClient().redactEvent(roomId, eventId, undefined, opts);
        return { eventId: response.event_id };
    },

    async vote({ roomId, pollEventId, answerIds }) {
        const response = PollResponseEvent.from(answerIds, pollEventId).serialize();
        return sendEvent(roomId, response.type, response.content);
    },

    async send_poll({ roomId, question, answers, maxSelections = 1 }) {
        const kind = M_POLL_KIND_DISCLOSED; // what Element's poll composer passes
        const poll = PollStartEvent.from(question, answers, kind, maxSelections).serialize();
        const sent = await sendEvent(roomId, poll.type, poll.content);
        const start = poll.content["org.matrix.msc3381.poll.start"];
        return { ...sent, answerIds: start.answers.map((a) => a.id) };
    },

    async read_receipt({ roomId, eventId, threadId }) {
        const path =
            `/rooms/${encodeURIComponent(roomId)}` +
            `/receipt/m.read/${encodeURIComponent(eventId)}`;
        const body = threadId ? { thread_id: threadId } : {};
        await mustClient().http.authedRequest(sdk.Method.Post, path, undefined, body);
        return {};
    },

    async fetch_event({ roomId, eventId }) {
        return { event: await mustClient().fetchRoomEvent(roomId, eventId) };
    },

    async messages({ roomId, sinceIndex = 0 }) {
        mustClient();
        const events = seenByRoom.get(roomId)?.events ?? [];
        const out = [];
        for (let index = sinceIndex; index < events.length; index++) {
            out.push(await describe(events[index], index));
        }
        return { messages: out };
    },

    async count({ roomId }) {
        mustClient();
        return { count: seenByRoom.get(roomId)?.events.length ?? 0 };
    },

    async user_devices({ userId }) {
        const devices = await mustCrypto().getUserDeviceInfo([userId], true);
        return { deviceIds: [...(devices.get(userId)?.keys() ?? [])] };
    },

    async device_status({ userId, deviceId }) {
        const crypto = mustCrypto();
        await crypto.getUserDeviceInfo([userId], true);
        const status = await crypto.getDeviceVerificationStatus(userId, deviceId);
        if (status === null) return { status: null };
        return {
            status: {
                signedByOwner: status.signedByOwner,
                crossSigningVerified: status.crossSigningVerified,
                locallyVerified: status.localVerified,
                isVerified: status.isVerified(),
            },
        };
    },

    async stop() {
        if (client !== null) {
            client.stopClient();
            client = null;
        }
        return {};
    },
};

// -- the loop -------------------------------------------------------------------------------

async function handle(line) {
    let request;
    try {
        request = JSON.parse(line);
    } catch (error) {
        answer({ id: null, error: `bad JSON: ${error}` });
        return;
    }
    const { id, cmd, ...args } = request;
    const command = Object.hasOwn(commands, cmd) ? commands[cmd] : undefined;
    if (!command) {
        answer({ id, error: `unknown command ${JSON.stringify(cmd)}` });
        return;
    }
    writeLog("REQUEST", [cmd, id]);
    try {
        const result = await command(args);
        answer({ id, result });
    } catch (error) {
        writeLog("ERROR", [cmd, error]);
        const data = error?.data ? ` ${JSON.stringify(error.data)}` : "";
        answer({ id, error: `${cmd}: ${error?.message ?? error}${data}` });
    }
    if (cmd === "stop") {
        setTimeout(() => process.exit(0), 50);
    }
}

const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
input.on("line", (line) => {
    if (line.trim()) void handle(line);
});
input.on("close", () => {
    writeLog("INFO", ["stdin closed; exiting"]);
    if (client !== null) client.stopClient();
    process.exit(0);
});
