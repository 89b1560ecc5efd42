#!/usr/bin/env node
// Long-lived KQL checker backed by Microsoft's Kusto.Language (the parser and
// semantic analyzer behind the Kusto editors), compiled to JavaScript and
// published as @kusto/language-service-next.
//
// Protocol: one JSON object per line on stdin, one JSON line per request on
// stdout, in order.
//
//   request:  {"query": "DeviceProcessEvents | take 1"}
//   response: {"diagnostics": [{"code": "KS142", "severity": "Error",
//              "message": "...", "start": 10, "length": 3}]}
//   on a malformed request: {"error": "..."}
//
// The schema (database name, tables, column types, stored functions) is read once at start from
// ../defender_xdr_schema.json, or from the path given as the first argument.
// Startup prints nothing; the first response is the first request's answer.

"use strict";

const fs = require("fs");
const path = require("path");
const readline = require("readline");

const PACKAGE_DIR = path.join(__dirname, "node_modules", "@kusto", "language-service-next");
const SCHEMA_PATH = process.argv[2] || path.join(__dirname, "..", "defender_xdr_schema.json");

// bridge.min.js defines the Bridge.NET runtime as globals; the language
// library is written against those globals and defines the global `Kusto`.
require(path.join(PACKAGE_DIR, "bridge.min.js"));
require(path.join(PACKAGE_DIR, "Kusto.Language.Bridge.min.js"));

/* global Kusto */
const Symbols = Kusto.Language.Symbols;

const SCALAR_TYPES = {
  string: Symbols.ScalarTypes.String,
  int: Symbols.ScalarTypes.Int,
  long: Symbols.ScalarTypes.Long,
  bool: Symbols.ScalarTypes.Bool,
  boolean: Symbols.ScalarTypes.Bool,
  datetime: Symbols.ScalarTypes.DateTime,
  timespan: Symbols.ScalarTypes.TimeSpan,
  dynamic: Symbols.ScalarTypes.Dynamic,
  real: Symbols.ScalarTypes.Real,
  double: Symbols.ScalarTypes.Real,
  decimal: Symbols.ScalarTypes.Decimal,
  guid: Symbols.ScalarTypes.Guid,
};

function loadGlobals(schemaPath) {
  const schema = JSON.parse(fs.readFileSync(schemaPath, "utf8"));
  const tables = [];
  for (const [tableName, columns] of Object.entries(schema.tables)) {
    const columnSymbols = [];
    for (const [columnName, typeName] of Object.entries(columns)) {
      const type = SCALAR_TYPES[String(typeName).toLowerCase()];
      if (!type) {
        throw new Error(`${schemaPath}: ${tableName}.${columnName}: unknown type ${typeName}`);
      }
      columnSymbols.push(new Symbols.ColumnSymbol(columnName, type));
    }
    // TableSymbol(string name, params ColumnSymbol[] columns)
    tables.push(new Symbols.TableSymbol.$ctor4(tableName, columnSymbols));
  }
  // Stored functions of the database ("functions": name -> {parameters, body}), e.g. Sentinel's
  // _GetWatchlist: FunctionSymbol(string name, string parameterList, string body, string description).
  for (const [functionName, spec] of Object.entries(schema.functions || {})) {
    tables.push(new Symbols.FunctionSymbol.$ctor16(functionName, spec.parameters, spec.body, null));
  }
  // DatabaseSymbol(string name, string alternateName, params Symbol[] members)
  const database = new Symbols.DatabaseSymbol.$ctor2(schema.database, null, tables);
  return Kusto.Language.GlobalState.Default.WithDatabase(database);
}

function diagnose(globals, query) {
  const code = Kusto.Language.KustoCode.ParseAndAnalyze(query, globals);
  const list = code.GetDiagnostics();
  const out = [];
  for (let i = 0; i < list.Count; i++) {
    const d = list.getItem(i);
    out.push({
      code: d.Code,
      severity: d.Severity,
      message: d.Message,
      start: d.Start,
      length: d.Length,
    });
  }
  return out;
}

function main() {
  const globals = loadGlobals(SCHEMA_PATH);
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on("line", (line) => {
    if (line.trim() === "") {
      return;
    }
    let response;
    try {
      const request = JSON.parse(line);
      if (typeof request.query !== "string") {
        throw new Error('request must be {"query": "<kql text>"}');
      }
      response = { diagnostics: diagnose(globals, request.query) };
    } catch (err) {
      response = { error: String((err && err.stack) || err) };
    }
    process.stdout.write(JSON.stringify(response) + "\n");
  });
  rl.on("close", () => process.exit(0));
}

main();
