// Connects with socket.io-client and prints the disconnect reason when the server goes away.
"use strict";
const path = require("node:path");
const { createRequire } = require("node:module");
const { io } = createRequire(path.join(__dirname, "../../widgets/package.json"))("socket.io-client");
const [url, token] = process.argv.slice(2);
const socket = io(url, { auth: { token }, transports: ["websocket"], reconnection: false });
const timer = setTimeout(() => { console.log("timeout"); process.exit(2); }, 20000);
socket.on("welcome", () => console.log("welcome"));
socket.on("disconnect", (reason) => { console.log(`reason:${reason}`); clearTimeout(timer); process.exit(0); });
