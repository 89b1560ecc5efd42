// siemc report page: reads the JSON blob above, renders one page of the rules x targets matrix at a
// time, filters and searches in memory, highlights a query only when it is shown. No network, no
// library: everything here is this file.
"use strict";
// The data is one JSON document, stored gzip-compressed and base64-encoded in the page (the query texts
// of a large rule set compress about seven times): the browser's own DecompressionStream reads it.
async function siemcReportData() {
  const element = document.getElementById("siemc-data");
  const text = element.textContent.trim();
  element.remove();
  let bytes;
  if (typeof Uint8Array.fromBase64 === "function") {
    bytes = Uint8Array.fromBase64(text);
  } else {
    const raw = atob(text);
    bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  }
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return JSON.parse(await new Response(stream).text());
}

siemcReportData().then((DATA) => {
  const TARGETS = DATA.targets;
  const RULES = DATA.rules;
  const STATUS = 0, MESSAGE = 1, QUERY = 2, TESTS = 3;

  // -- states ------------------------------------------------------------------------------------------
  // A cell's state: the build's status, refined by the tests where they ran on that target.
  function cellState(cell) {
    const tests = cell[TESTS];
    if (cell[STATUS] === "converted" && tests) {
      if (tests.state === "pass") return "tested";
      if (tests.state === "fail") return "test-failing";
    }
    return cell[STATUS];
  }
  const STATE_LABEL = {
    converted: "converted", tested: "tested", "test-failing": "test failing",
    unsupported: "unsupported", failed: "failed", skipped: "skipped",
  };
  const STATE_FILTERS = [
    ["", "any state"], ["converted", "converted"], ["tested", "tested"], ["test-failing", "test failing"],
    ["unsupported", "unsupported"], ["failed", "failed"], ["skipped", "skipped"],
    ["not-converted", "not converted"],
  ];
  function stateMatches(cell, wanted) {
    const state = cellState(cell);
    if (wanted === "converted") return cell[STATUS] === "converted";
    if (wanted === "not-converted") return cell[STATUS] !== "converted";
    return state === wanted;
  }
  function badgeText(cell) {
    const state = cellState(cell);
    const tests = cell[TESTS];
    if ((state === "tested" || state === "test-failing") && tests) return (state === "tested" ? "\u2713 " : "\u2717 ") + tests.passed + "/" + tests.total;
    return { converted: "\u2713 converted", unsupported: "unsupported", failed: "failed", skipped: "skipped" }[state] || state;
  }

  // -- the highlighter ---------------------------------------------------------------------------------
  // One small tokenizer, one table of rules per language family: comments, strings, regexes (slash
  // literals, or the string after a word that takes a pattern), keywords, functions, variables.
  function words(text) { return new Set(text.trim().split(/\s+/)); }
  const DQ = /"(?:[^"\\\n]|\\.)*"/y, SQ = /'(?:[^'\\\n]|\\.)*'/y;
  const LINE_COMMENT = /\/\/[^\n]*/y, BLOCK_COMMENT = /\/\*[\s\S]*?(?:\*\/|$)/y;
  const FAMILIES = {
    kusto: {
      comments: [LINE_COMMENT],
      strings: [/[@]"[^"]*(?:""[^"]*)*"/y, /[@]'[^']*(?:''[^']*)*'/y, DQ, SQ],
      word: /[A-Za-z_][A-Za-z0-9_]*(?:~)?/y,
      keywords: words(`where project project-away project-rename extend summarize by and or not has has_cs
        !has has_any has_all contains contains_cs !contains startswith startswith_cs !startswith endswith
        endswith_cs !endswith in in~ !in !in~ matches regex between let union join on kind take limit sort
        order asc desc top distinct count true false dynamic datatable`),
      regexAfter: words("regex"),
    },
    spl: {
      comments: [/```[\s\S]*?(?:```|$)/y],
      strings: [DQ],
      word: /[A-Za-z_][A-Za-z0-9_.]*/y,
      keywords: words(`search where eval table fields stats sort rex regex lookup dedup head tail rename by as
        AND OR NOT IN earliest latest case if match like true false null isnull isnotnull lower upper
        coalesce tostring mvindex spath inputlookup`),
      regexAfter: words("match regex rex replace"),
    },
    eql: {
      comments: [LINE_COMMENT, BLOCK_COMMENT],
      strings: [/"""[\s\S]*?(?:"""|$)/y, /\?"(?:[^"\n])*"/y, DQ],
      word: /[A-Za-z_@][A-Za-z0-9_.@]*(?:~)?/y,
      keywords: words(`where and or not in in~ like like~ regex regex~ sequence sample by with maxspan until
        runs any true false null process file network registry library dns driver authentication
        configuration api iam event`),
      regexAfter: words("regex regex~"),
    },
    sql: {
      ci: true,
      comments: [BLOCK_COMMENT],
      strings: [/'(?:[^'\n]|'')*'/y],
      identifiers: /"(?:[^"\n])*"/y,
      word: /[A-Za-z_][A-Za-z0-9_]*/y,
      keywords: words(`select from where and or not in like ilike matches imatches case when then else end as
        last hours minutes days start stop order by asc desc limit null is group having distinct count
        events flows into`),
      regexAfter: words("matches imatches"),
    },
    sumo: {
      ci: true,
      comments: [LINE_COMMENT],
      strings: [DQ],
      slashRegex: true,
      vars: /%"(?:[^"\\\n]|\\.)*"/y,
      word: /[A-Za-z_][A-Za-z0-9_.]*/y,
      keywords: words(`where matches and or not if as fields count by parse regex json in isnull isempty
        isblank tolowercase touppercase contains true false`),
      regexAfter: words("regex"),
    },
    yaral: {
      comments: [LINE_COMMENT, BLOCK_COMMENT],
      strings: [DQ, /`[^`]*`/y],
      slashRegex: true,
      vars: /\$[A-Za-z0-9_.]*/y,
      word: /[A-Za-z_][A-Za-z0-9_.]*/y,
      keywords: words(`rule meta events match outcome condition options and or not nocase over any all in
        regex if true false null`),
      regexAfter: words("re.regex"),
    },
    logscale: {
      comments: [LINE_COMMENT, BLOCK_COMMENT],
      strings: [DQ],
      slashRegex: true,
      vars: /[#@][A-Za-z0-9_.]+/y,
      word: /[A-Za-z_][A-Za-z0-9_.]*/y,
      keywords: words(`and or not case in regex match table select sort groupby count head tail test
        default true false`),
      regexAfter: words("regex"),
    },
  };
  const SLASH_REGEX = /\/(?:[^\/\\\n]|\\.)+\/[a-zA-Z]*/y;
  const NUMBER = /\d+(?:\.\d+)?/y;
  const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" };
  function escapeHtml(text) { return String(text).replace(/[&<>"]/g, (c) => ESCAPES[c]); }

  function at(pattern, text, index) {
    pattern.lastIndex = index;
    const match = pattern.exec(text);
    return match ? match[0] : null;
  }

  function highlight(text, familyName) {
    const family = FAMILIES[familyName];
    if (!family) return escapeHtml(text);
    const out = [];
    let index = 0, plain = "";
    let previous = "";          // the last significant token: "word", "value" or the punctuation
    let regexNext = false;      // the next string is a pattern (it follows a word that takes one)
    const flush = () => { if (plain) { out.push(escapeHtml(plain)); plain = ""; } };
    const emit = (cls, token) => { flush(); out.push('<span class="tk-' + cls + '">' + escapeHtml(token) + "</span>"); };
    const n = text.length;
    outer: while (index < n) {
      const ch = text[index];
      if (ch === " " || ch === "\t") { plain += ch; index++; continue; }
      for (const pattern of family.comments) {
        const token = at(pattern, text, index);
        if (token) { emit("com", token); index += token.length; continue outer; }
      }
      for (const pattern of family.strings) {
        const token = at(pattern, text, index);
        if (token) {
          emit(regexNext ? "re" : "str", token);
          regexNext = false; previous = "value"; index += token.length; continue outer;
        }
      }
      if (family.identifiers) {
        const token = at(family.identifiers, text, index);
        if (token) { emit("id", token); previous = "value"; index += token.length; continue; }
      }
      if (family.slashRegex && ch === "/" && previous !== "value" && previous !== ")") {
        const token = at(SLASH_REGEX, text, index);
        if (token) { emit("re", token); previous = "value"; index += token.length; continue; }
      }
      if (family.vars) {
        const token = at(family.vars, text, index);
        if (token) { emit("var", token); previous = "value"; index += token.length; continue; }
      }
      const word = at(family.word, text, index);
      if (word) {
        const key = family.ci ? word.toLowerCase() : word;
        let after = index + word.length;
        while (text[after] === " ") after++;
        if (family.keywords.has(key)) emit("kw", word);
        else if (text[after] === "(") emit("fn", word);
        else { plain += word; }
        if (family.regexAfter.has(key)) regexNext = true;
        previous = family.keywords.has(key) ? "keyword" : "value";
        index += word.length;
        continue;
      }
      const number = at(NUMBER, text, index);
      if (number) { emit("num", number); previous = "value"; index += number.length; continue; }
      if (ch === "|" || ch === "\n" || ch === ";") regexNext = false;
      if (ch === "|" || ch === "=" || ch === "!" || ch === "~" || ch === "<" || ch === ">") emit("op", ch);
      else plain += ch;
      if (ch !== "\n" && ch !== "\r") previous = ch;
      index++;
    }
    flush();
    return out.join("");
  }

  // -- filtering ---------------------------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);
  const state = { page: 0, pageSize: 50, open: new Set(), tab: new Map(), rows: [] };
  let haystacks = null, queryHaystacks = null;

  function ruleHaystack(rule) {
    const parts = [rule.title, rule.id || "", rule.file, rule.level || "", rule.status || "",
      rule.techniques.join(" "), rule.tactics.join(" "), Object.values(rule.logsource || {}).join(" ")];
    for (const cell of rule.cells) if (cell[MESSAGE]) parts.push(cell[MESSAGE]);
    return parts.join("\n").toLowerCase();
  }

  function readFilters() {
    return {
      terms: $("search").value.toLowerCase().split(/\s+/).filter(Boolean),
      inQueries: $("search-queries").checked,
      target: $("filter-target").value,
      state: $("filter-state").value,
      level: $("filter-level").value,
      attack: $("filter-attack").value.split(/[\s,]+/).filter(Boolean).map((s) => s.toLowerCase()),
    };
  }

  function applyFilters() {
    const f = readFilters();
    if (f.terms.length && !haystacks) haystacks = RULES.map(ruleHaystack);
    if (f.terms.length && f.inQueries && !queryHaystacks) {
      queryHaystacks = RULES.map((rule) => rule.cells.map((c) => c[QUERY] || "").join("\n").toLowerCase());
    }
    const targetIndex = f.target === "" ? -1 : TARGETS.findIndex((t) => t.name === f.target);
    const rows = [];
    for (let i = 0; i < RULES.length; i++) {
      const rule = RULES[i];
      if (f.level && (rule.level || "none") !== f.level) continue;
      if (f.state) {
        const cells = targetIndex >= 0 ? [rule.cells[targetIndex]] : rule.cells;
        if (!cells.some((cell) => stateMatches(cell, f.state))) continue;
      }
      if (f.attack.length) {
        const ids = rule.techniques.map((t) => t.toLowerCase());
        const tactics = rule.tactics.map((t) => t.toLowerCase());
        const hit = f.attack.some((a) => ids.some((id) => id === a || id.startsWith(a + ".") || (a.length < 5 && id.startsWith(a)))
          || tactics.some((t) => t.includes(a)));
        if (!hit) continue;
      }
      if (f.terms.length) {
        const text = haystacks[i];
        const queries = f.inQueries ? queryHaystacks[i] : "";
        if (!f.terms.every((term) => text.includes(term) || (queries && queries.includes(term)))) continue;
      }
      rows.push(i);
    }
    state.rows = rows;
    state.page = 0;
    const active = Boolean(f.terms.length || f.target || f.state || f.level || f.attack.length);
    render(active);
  }

  // -- rendering ---------------------------------------------------------------------------------------
  const fmt = new Intl.NumberFormat("en-US");

  function totalsOf(indices) {
    const totals = TARGETS.map(() => ({ converted: 0, tested: 0, "test-failing": 0, unsupported: 0, failed: 0, skipped: 0 }));
    for (const i of indices) {
      const cells = RULES[i].cells;
      for (let t = 0; t < TARGETS.length; t++) {
        const cell = cells[t];
        totals[t][cell[STATUS]]++;
        const s = cellState(cell);
        if (s === "tested" || s === "test-failing") totals[t][s]++;
      }
    }
    return totals;
  }
  const ALL_TOTALS_COLUMNS = ["converted", "tested", "test-failing", "unsupported", "failed", "skipped"];
  let allTotals = null;

  function renderTotals(active) {
    if (!allTotals) allTotals = totalsOf(RULES.map((_, i) => i));
    const shown = active ? totalsOf(state.rows) : null;
    const columns = DATA.testsRan ? ALL_TOTALS_COLUMNS : ALL_TOTALS_COLUMNS.filter((c) => c !== "tested" && c !== "test-failing");
    const head = "<thead><tr><th>target</th>" + columns.map((c) => "<th>" + STATE_LABEL[c] + "</th>").join("") + "</tr></thead>";
    const body = TARGETS.map((target, t) => "<tr><td title=\"" + escapeHtml(target.siem) + "\"><b>" + escapeHtml(target.name) + "</b></td>"
      + columns.map((c) => {
        const n = allTotals[t][c];
        const sub = shown ? '<span class="sub">' + fmt.format(shown[t][c]) + " shown</span>" : "";
        return '<td data-target="' + target.name + '" data-count="' + c + '" data-value="' + n + '"'
          + (n ? "" : ' class="zero"') + ">" + fmt.format(n) + sub + "</td>";
      }).join("") + "</tr>").join("");
    $("totals").innerHTML = head + "<tbody>" + body + "</tbody>";
  }

  function renderHead() {
    const cols = "<tr><th>rule</th><th>level</th><th>ATT&amp;CK</th>"
      + TARGETS.map((t) => '<th class="t" title="' + escapeHtml(t.siem) + '">' + escapeHtml(t.name) + "</th>").join("") + "</tr>";
    document.querySelector("#matrix thead").innerHTML = cols;
  }

  function cellHtml(cell, target) {
    const s = cellState(cell);
    const tip = cell[MESSAGE] ? cell[MESSAGE] : STATE_LABEL[s];
    return '<td class="cell st-' + s + '" data-target="' + target.name + '" data-status="' + cell[STATUS]
      + '" data-state="' + s + '" title="' + escapeHtml(target.name + ": " + tip) + '"><span class="badge">'
      + escapeHtml(badgeText(cell)) + "</span></td>";
  }

  function ruleRow(i) {
    const rule = RULES[i];
    const open = state.open.has(i);
    const level = rule.level ? '<span class="level ' + escapeHtml(rule.level) + '">' + escapeHtml(rule.level) + "</span>" : "";
    return '<tr class="rule' + (open ? " open" : "") + '" data-rule="' + i + '">'
      + '<td><button type="button" class="rule-title" aria-expanded="' + open + '">' + escapeHtml(rule.title) + "</button>"
      + '<span class="file">' + escapeHtml(rule.file) + "</span></td>"
      + "<td>" + level + "</td>"
      + '<td class="attack">' + escapeHtml(rule.techniques.join(" ")) + "</td>"
      + rule.cells.map((cell, t) => cellHtml(cell, TARGETS[t])).join("") + "</tr>"
      + (open ? detailRow(i) : "");
  }

  function defaultTab(rule) {
    const t = rule.cells.findIndex((cell) => cell[STATUS] === "converted");
    return t >= 0 ? t : 0;
  }

  function detailRow(i) {
    const rule = RULES[i];
    const t = state.tab.has(i) ? state.tab.get(i) : defaultTab(rule);
    const target = TARGETS[t];
    const cell = rule.cells[t];
    const s = cellState(cell);
    const meta = [];
    if (rule.id) meta.push("<span>id <b>" + escapeHtml(rule.id) + "</b></span>");
    if (rule.status) meta.push("<span>status <b>" + escapeHtml(rule.status) + "</b></span>");
    const source = Object.entries(rule.logsource || {}).map(([k, v]) => k + "=" + v).join(" ");
    if (source) meta.push("<span>log source <b>" + escapeHtml(source) + "</b></span>");
    if (rule.techniques.length) meta.push("<span>techniques <b>" + escapeHtml(rule.techniques.join(", ")) + "</b></span>");
    if (rule.tactics.length) meta.push("<span>tactics <b>" + escapeHtml(rule.tactics.join(", ")) + "</b></span>");
    if (rule.tests) meta.push("<span>siemc.tests <b>" + rule.tests + "</b></span>");
    const tabs = TARGETS.map((x, k) => '<button type="button" class="tab" role="tab" data-tab="' + k + '" aria-selected="' + (k === t)
      + '"><span class="dot st-' + cellState(rule.cells[k]) + '"></span>' + escapeHtml(x.name) + "</button>").join("");
    let body;
    if (cell[STATUS] === "converted" && cell[QUERY] != null) {
      const lines = cell[QUERY].split("\n").length - (cell[QUERY].endsWith("\n") ? 1 : 0);
      body = '<div class="panel-head"><span class="muted">' + escapeHtml(target.siem) + " \u00b7 " + fmt.format(lines)
        + " line(s) \u00b7 " + STATE_LABEL[s] + '</span><button type="button" class="copy" data-rule="' + i + '" data-target="' + t
        + '">Copy query</button></div><pre class="code lang-' + target.family + '"><code>' + highlight(cell[QUERY], target.family) + "</code></pre>";
    } else if (cell[STATUS] === "converted") {
      body = '<div class="message failed">the output file is missing</div>';
    } else if (cell[STATUS] === "skipped") {
      body = '<div class="message">skipped: the rule\'s siemc.targets leaves ' + escapeHtml(target.name) + " out</div>";
    } else {
      body = '<div class="message ' + cell[STATUS] + '">' + cell[STATUS] + ": " + escapeHtml(cell[MESSAGE] || "") + "</div>";
    }
    const tests = cell[TESTS];
    let testsHtml = "";
    if (tests || rule.referenceFailures.length) {
      const items = [];
      if (tests) {
        const cls = tests.state === "pass" ? "good" : tests.state === "fail" ? "bad" : "muted";
        items.push('<span class="' + cls + '">' + (tests.state === "n/a" ? "no engine here: " + escapeHtml(tests.problems[0] || "")
          : tests.passed + " of " + tests.total + " test(s) agree on " + escapeHtml(target.name) + "'s engine") + "</span>");
      }
      const problems = (tests && tests.state !== "n/a" ? tests.problems : []).concat(rule.referenceFailures.map((p) => "reference: " + p));
      testsHtml = '<div class="tests">' + items.join("")
        + (problems.length ? "<ul>" + problems.map((p) => '<li class="bad">' + escapeHtml(p) + "</li>").join("") + "</ul>" : "") + "</div>";
    }
    return '<tr class="detail" data-detail="' + i + '"><td colspan="' + (3 + TARGETS.length) + '"><div class="meta">' + meta.join("")
      + '</div><div class="tabs" role="tablist">' + tabs + '</div><div class="panel">' + body + testsHtml + "</div></td></tr>";
  }

  function renderPage() {
    const pages = Math.max(1, Math.ceil(state.rows.length / state.pageSize));
    state.page = Math.min(state.page, pages - 1);
    const start = state.page * state.pageSize;
    const slice = state.rows.slice(start, start + state.pageSize);
    const tbody = document.querySelector("#matrix tbody");
    tbody.innerHTML = slice.length ? slice.map(ruleRow).join("")
      : '<tr><td class="empty" colspan="' + (3 + TARGETS.length) + '">No rule matches these filters.</td></tr>';
    const first = state.rows.length ? start + 1 : 0;
    $("pager").innerHTML = '<span id="range">' + fmt.format(first) + "\u2013" + fmt.format(start + slice.length) + " of "
      + fmt.format(state.rows.length) + "</span>"
      + '<button type="button" data-page="first" ' + (state.page ? "" : "disabled") + ">\u00ab</button>"
      + '<button type="button" data-page="prev" ' + (state.page ? "" : "disabled") + ">\u2039 previous</button>"
      + "<span>page " + (state.page + 1) + " of " + pages + "</span>"
      + '<button type="button" data-page="next" ' + (state.page < pages - 1 ? "" : "disabled") + ">next \u203a</button>"
      + '<button type="button" data-page="last" ' + (state.page < pages - 1 ? "" : "disabled") + ">\u00bb</button>"
      + '<select id="page-size" aria-label="Rows per page">' + [25, 50, 100, 250].map((n) => "<option" + (n === state.pageSize ? " selected" : "") + ">" + n + "</option>").join("") + "</select>";
  }

  function render(active) {
    renderTotals(active);
    $("shown").textContent = active
      ? fmt.format(state.rows.length) + " of " + fmt.format(RULES.length) + " rules match"
      : fmt.format(RULES.length) + " rules";
    renderPage();
  }

  // -- copying -----------------------------------------------------------------------------------------
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise((resolve, reject) => {
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed"; area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      const ok = document.execCommand("copy");
      area.remove();
      ok ? resolve() : reject(new Error("copy refused"));
    });
  }

  // -- events ------------------------------------------------------------------------------------------
  function setUp() {
    const subtitle = fmt.format(RULES.length) + " rule(s) \u00b7 " + TARGETS.length + " target(s) \u00b7 siemc " + DATA.siemc
      + (DATA.testsRan ? (DATA.engines ? " \u00b7 siemc.tests run on each target's engine" : " \u00b7 siemc.tests run on the reference only (no engines here)") : "");
    $("subtitle").textContent = subtitle;
    $("filter-target").innerHTML = '<option value="">any target</option>'
      + TARGETS.map((t) => '<option value="' + t.name + '">' + escapeHtml(t.name) + "</option>").join("");
    const filters = DATA.testsRan ? STATE_FILTERS : STATE_FILTERS.filter(([v]) => v !== "tested" && v !== "test-failing");
    $("filter-state").innerHTML = filters.map(([v, label]) => '<option value="' + v + '">' + label + "</option>").join("");
    const order = ["critical", "high", "medium", "low", "informational"];
    const levels = Array.from(new Set(RULES.map((r) => r.level || "none")))
      .sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
    $("filter-level").innerHTML = '<option value="">any level</option>'
      + levels.map((l) => '<option value="' + escapeHtml(l) + '">' + escapeHtml(l) + "</option>").join("");

    let timer = 0;
    const later = () => { clearTimeout(timer); timer = setTimeout(applyFilters, 120); };
    $("search").addEventListener("input", later);
    $("filter-attack").addEventListener("input", later);
    for (const id of ["search-queries", "filter-target", "filter-state", "filter-level"]) $(id).addEventListener("change", applyFilters);
    $("reset").addEventListener("click", () => {
      $("search").value = ""; $("filter-attack").value = ""; $("search-queries").checked = false;
      $("filter-target").value = ""; $("filter-state").value = ""; $("filter-level").value = "";
      applyFilters();
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "/" && document.activeElement && !/^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName)) {
        event.preventDefault(); $("search").focus();
      }
    });
    document.querySelector("#matrix tbody").addEventListener("click", (event) => {
      const copy = event.target.closest("button.copy");
      if (copy) {
        const text = RULES[Number(copy.dataset.rule)].cells[Number(copy.dataset.target)][QUERY];
        copyText(text).then(() => {
          copy.textContent = "Copied"; copy.classList.add("done");
          setTimeout(() => { copy.textContent = "Copy query"; copy.classList.remove("done"); }, 1500);
        }, () => { copy.textContent = "Copy failed"; });
        return;
      }
      const tab = event.target.closest("button.tab");
      if (tab) {
        const i = Number(tab.closest("tr.detail").dataset.detail);
        state.tab.set(i, Number(tab.dataset.tab));
        renderPage();
        return;
      }
      const row = event.target.closest("tr.rule");
      if (!row || event.target.closest("tr.detail")) return;
      const i = Number(row.dataset.rule);
      const cell = event.target.closest("td.cell");
      if (cell) {
        state.tab.set(i, TARGETS.findIndex((t) => t.name === cell.dataset.target));
        state.open.add(i);
      } else if (state.open.has(i)) state.open.delete(i);
      else state.open.add(i);
      renderPage();
    });
    $("pager").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-page]");
      if (!button) return;
      const pages = Math.max(1, Math.ceil(state.rows.length / state.pageSize));
      const to = { first: 0, prev: state.page - 1, next: state.page + 1, last: pages - 1 }[button.dataset.page];
      state.page = Math.max(0, Math.min(pages - 1, to));
      renderPage();
      document.getElementById("matrix").scrollIntoView({ block: "start" });
    });
    $("pager").addEventListener("change", (event) => {
      if (event.target.id !== "page-size") return;
      state.pageSize = Number(event.target.value);
      state.page = 0;
      renderPage();
    });
  }

  renderHead();
  setUp();
  state.rows = RULES.map((_, i) => i);
  render(false);
  window.siemcReport = { data: DATA, highlight: highlight, state: state, readyMs: performance.now() };
  document.documentElement.dataset.ready = "true";
}).catch((error) => {
  document.getElementById("shown").textContent = "This report cannot be read: " + error;
  document.documentElement.dataset.ready = "error";
});
