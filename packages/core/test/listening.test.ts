import assert from "node:assert/strict";
import { test } from "node:test";
import { type Address, formatAddress, listeningLine, parseAddress, parseListening } from "../src/index.ts";

const addresses: Address[] = [
	{ transport: "tcp", host: "127.0.0.1", port: 1337, family: "IPv4" },
	{ transport: "tcp", host: "::1", port: 0, family: "IPv6" },
	{ transport: "tcp", host: "fe80::1", port: 65535, family: "IPv6" },
	{ transport: "unix", path: "/tmp/echo cli.sock" },
];

test("parseListening reads back what listeningLine writes, and parseAddress what formatAddress writes", () => {
	for (const address of addresses) {
		assert.deepEqual(parseListening(listeningLine(address)), address);
		assert.deepEqual(parseAddress(formatAddress(address)), address);
	}
});

test("parseListening takes echo-cli's JSON listening event and nothing else", () => {
	const cli =
		'{"time":"2026-12-06T19:00:00.000Z","level":"info","event":"listening","address":"tcp://[::1]:7","driver":"bun","runtime":"Bun 1.4.5"}';
	assert.deepEqual(parseListening(cli), { transport: "tcp", host: "::1", port: 7, family: "IPv6" });
	for (const other of [
		"listening on tcp://127.0.0.1:1337 (driver node, Node 20.20.2)",
		'{"event":"summary","address":"tcp://127.0.0.1:1"}',
		'{"event":"listening","address":"tcp://127.0.0.1:70000"}',
		'{"event":"listening"}',
		"1337",
		"null",
	]) {
		assert.equal(parseListening(other), undefined, other);
	}
});
