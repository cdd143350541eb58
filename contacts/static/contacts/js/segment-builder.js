/*
 * The visual segment builder (contacts/segment_builder.py). Reads the rules JSON from the
 * hidden textarea, shows it as groups of rules, and writes the JSON back on every change,
 * firing "input" and "change" on the textarea so the live count follows.
 * Plain JavaScript, no build step; every control has a label.
 */
(() => {
    "use strict";

    const MAX_DEPTH = 8;
    let lastUid = 0;
    const uid = () => `sb${++lastUid}`;
    const shape = (op) => ({in: "many", not_in: "many", between: "pair", within_last_days: "days"})[op] || "one";

    function el(tag, attrs = {}, ...children) {
        const node = document.createElement(tag);
        for (const [name, value] of Object.entries(attrs)) {
            if (value === false || value === null || value === undefined) continue;
            if (name === "text") node.textContent = value;
            else if (name === "className") node.className = value;
            else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
            else node.setAttribute(name, value === true ? "" : value);
        }
        for (const child of children.flat()) {
            if (child !== null && child !== undefined) node.append(child);
        }
        return node;
    }

    function labelled(id, text, control, hidden = false) {
        return el("div", {className: "rapport-builder__control"},
            el("label", {for: id, className: hidden ? "w-sr-only" : "rapport-builder__label", text}), control);
    }

    function select(id, options, value, onchange) {
        const control = el("select", {id, onchange});
        for (const option of options) {
            if (option.group) {
                const group = el("optgroup", {label: option.group});
                for (const item of option.items) group.append(el("option", {value: item[0], text: item[1]}));
                control.append(group);
            } else {
                control.append(el("option", {value: option[0], text: option[1]}));
            }
        }
        control.value = value === undefined || value === null ? "" : String(value);
        return control;
    }

    class Builder {
        constructor(container) {
            this.container = container;
            this.input = document.getElementById(container.dataset.rulesInput);
            this.schema = JSON.parse(document.getElementById(container.dataset.schema).textContent);
            this.fields = new Map(this.schema.fields.map((field) => [field.value, field]));
            try {
                this.root = this.parse(JSON.parse(this.input.value || "{}"), true);
            } catch (error) {
                this.fallBack(error);
                return;
            }
            this.render();
        }

        // Rules the builder cannot show stay editable as JSON rather than being lost.
        fallBack(error) {
            this.input.hidden = false;
            this.input.removeAttribute("aria-hidden");
            this.input.rows = 12;
            this.container.append(el("p", {className: "help-critical",
                text: `These rules cannot be shown in the builder (${error.message}); edit them as JSON below.`}));
            const label = el("label", {for: this.input.id, className: "rapport-builder__label", text: "Rules (JSON)"});
            this.container.append(label);
        }

        parse(node, isRoot = false) {
            if (node === null || typeof node !== "object" || Array.isArray(node)) throw new Error("not a rule");
            if (isRoot && Object.keys(node).length === 0) return this.newGroup();
            if ("rules" in node || "match" in node) {
                return {kind: "group", uid: uid(), match: node.match === "any" ? "any" : "all",
                        negate: Boolean(node.negate), children: (node.rules || []).map((child) => this.parse(child))};
            }
            const wrap = (rule) => (isRoot ? {...this.newGroup(), children: [rule]} : rule);
            if ("event" in node) {
                return wrap({kind: "event", uid: uid(), negate: Boolean(node.negate), event: node.event,
                             campaign: node.campaign ?? "", within_days: node.within_days ?? "",
                             link: node.link ?? "", last_campaigns: node.last_campaigns ?? 3});
            }
            if ("field" in node) {
                const field = this.fields.get(node.field);
                if (!field) throw new Error(`unknown field ${node.field}`);
                if (!this.operators(field).some(([op]) => op === (node.op || "equals"))) {
                    throw new Error(`the builder offers no "${node.op}" for ${field.label}`);
                }
                return wrap({kind: "field", uid: uid(), negate: Boolean(node.negate), field: node.field,
                             op: node.op || "equals", value: node.value ?? ""});
            }
            throw new Error("not a rule");
        }

        newGroup() {
            return {kind: "group", uid: uid(), match: "all", negate: false, children: []};
        }

        newRule() {
            const field = this.schema.fields[0];
            return {kind: "field", uid: uid(), negate: false, field: field.value,
                    op: this.operators(field)[0][0], value: ""};
        }

        operators(field) {
            return this.schema.operators[field.type] || this.schema.operators.text;
        }

        // --- JSON out -------------------------------------------------------------------------

        serialise(node) {
            const extra = node.negate ? {negate: true} : {};
            if (node.kind === "group") {
                return {match: node.match, rules: node.children.map((child) => this.serialise(child)), ...extra};
            }
            if (node.kind === "event") {
                if (node.event === "not_opened") {
                    return {event: "not_opened", last_campaigns: Number(node.last_campaigns) || 1, ...extra};
                }
                const rule = {event: node.event};
                if (node.within_days !== "") rule.within_days = Number(node.within_days);
                if (node.campaign !== "") rule.campaign = Number(node.campaign);
                if (node.event === "clicked" && node.link.trim()) rule.link = node.link.trim();
                return {...rule, ...extra};
            }
            const rule = {field: node.field, op: node.op};
            if (!["empty", "not_empty"].includes(node.op)) rule.value = this.typedValue(node);
            return {...rule, ...extra};
        }

        typedValue(node) {
            const type = this.fields.get(node.field).type;
            const value = node.value;
            if (["in", "not_in"].includes(node.op)) {
                if (Array.isArray(value)) return value;
                return String(value).split(",").map((part) => part.trim()).filter(Boolean);
            }
            if (node.op === "between") {
                const pair = Array.isArray(value) ? value : ["", ""];
                return type === "number" ? pair.map(Number) : pair;
            }
            if (node.op === "within_last_days" || type === "number") return Number(value);
            if (type === "boolean") return value === true || value === "true";
            return value;
        }

        save() {
            this.input.value = JSON.stringify(this.serialise(this.root));
            this.input.dispatchEvent(new Event("input", {bubbles: true}));
            this.input.dispatchEvent(new Event("change", {bubbles: true}));
        }

        // --- Rendering --------------------------------------------------------------------------

        render() {
            const focused = document.activeElement && this.container.contains(document.activeElement)
                ? document.activeElement.id : null;
            this.container.replaceChildren(this.renderGroup(this.root, null, 0));
            if (focused) document.getElementById(focused)?.focus();
        }

        change(structural = false) {
            if (structural) this.render();
            this.save();
        }

        renderGroup(group, parent, depth) {
            const matchId = `${group.uid}-match`;
            const head = el("div", {className: "rapport-builder__row"},
                labelled(matchId, parent ? "Contacts in this group match" : "Contacts match",
                    select(matchId, [["all", "all of these rules"], ["any", "any of these rules"]], group.match,
                        (event) => { group.match = event.target.value; this.change(); })));
            if (parent) {
                head.append(this.negateBox(group, "Exclude contacts matching this group"),
                    this.removeButton(group, parent, "Remove group"));
            }
            const list = el("ol", {className: "rapport-builder__rules"},
                group.children.map((child) => el("li", {},
                    child.kind === "group" ? this.renderGroup(child, group, depth + 1) : this.renderRule(child, group))));
            const actions = el("div", {className: "rapport-builder__actions"},
                el("button", {type: "button", className: "button button-small button-secondary",
                    onclick: () => this.add(group, this.newRule())},
                    parent ? "Add rule to group" : "Add rule"));
            if (depth + 1 < MAX_DEPTH) {
                actions.append(el("button", {type: "button", className: "button button-small button-secondary",
                    onclick: () => this.add(group, {...this.newGroup(), children: [this.newRule()]})},
                    "Add group"));
            }
            return el("fieldset", {className: `rapport-builder__group${parent ? " rapport-builder__group--nested" : ""}`},
                el("legend", {className: "w-sr-only", text: parent ? "Group of rules" : "Segment rules"}),
                head, group.children.length ? list : el("p", {text: "No rules yet: every contact matches."}), actions);
        }

        // Keyboard users land on the first control of what they added.
        add(group, node) {
            group.children.push(node);
            this.change(true);
            const first = node.kind === "group" ? node.children[0] : node;
            document.getElementById(`${first.uid}-field`)?.focus();
        }

        removeButton(node, parent, text) {
            return el("button", {type: "button", className: "button button-small button-secondary no",
                "aria-label": text, onclick: () => {
                    parent.children.splice(parent.children.indexOf(node), 1);
                    this.change(true);
                }}, text);
        }

        negateBox(node, text) {
            const id = `${node.uid}-negate`;
            return el("div", {className: "rapport-builder__control rapport-builder__control--check"},
                el("input", {type: "checkbox", id, checked: node.negate,
                    onchange: (event) => { node.negate = event.target.checked; this.change(); }}),
                el("label", {for: id, text}));
        }

        fieldPicker(rule) {
            const groups = new Map();
            for (const field of this.schema.fields) {
                if (!groups.has(field.group)) groups.set(field.group, []);
                groups.get(field.group).push([field.value, field.label]);
            }
            const options = [...groups].map(([group, items]) => ({group, items}));
            options.push({group: "Behaviour", items: [["__event__", "Opened, clicked, was sent…"]]});
            const id = `${rule.uid}-field`;
            const current = rule.kind === "event" ? "__event__" : rule.field;
            return labelled(id, "Field", select(id, options, current, (event) => {
                const value = event.target.value;
                if (value === "__event__") {
                    Object.assign(rule, {kind: "event", event: "opened", campaign: "", within_days: "", link: "",
                                         last_campaigns: 3});
                } else {
                    const field = this.fields.get(value);
                    Object.assign(rule, {kind: "field", field: value, op: this.operators(field)[0][0],
                                         value: field.type === "date" ? 30 : ""});
                }
                this.change(true);
            }));
        }

        renderRule(rule, parent) {
            const row = el("div", {className: "rapport-builder__row rapport-builder__rule"}, this.fieldPicker(rule));
            if (rule.kind === "event") row.append(...this.eventControls(rule));
            else row.append(...this.fieldControls(rule));
            row.append(this.negateBox(rule, "Not"), this.removeButton(rule, parent, "Remove rule"));
            return row;
        }

        fieldControls(rule) {
            const field = this.fields.get(rule.field);
            const opId = `${rule.uid}-op`;
            const operators = this.operators(field);
            const controls = [labelled(opId, "Condition", select(opId, operators, rule.op, (event) => {
                const before = shape(rule.op);
                rule.op = event.target.value;
                // A value of another shape (one value, a list, a range, a number of days) starts afresh.
                if (shape(rule.op) !== before) rule.value = rule.op === "within_last_days" ? 30 : "";
                this.change(true);
            }))];
            if (!["empty", "not_empty"].includes(rule.op)) controls.push(this.valueControl(rule, field));
            return controls;
        }

        valueControl(rule, field) {
            const id = `${rule.uid}-value`;
            const update = (value) => { rule.value = value; this.change(); };
            const many = ["in", "not_in"].includes(rule.op);
            if (many && field.choices && field.choices.length) return this.checkboxes(rule, field);
            if (rule.op === "between") {
                const pair = Array.isArray(rule.value) ? rule.value : ["", ""];
                rule.value = pair;
                const type = field.type === "date" ? "date" : "number";
                const part = (index, text) => {
                    const partId = `${id}-${index}`;
                    return labelled(partId, text, el("input", {type, id: partId, value: pair[index], step: "any",
                        oninput: (event) => { pair[index] = event.target.value; update(pair); }}));
                };
                return el("div", {className: "rapport-builder__row"}, part(0, "From"), part(1, "To"));
            }
            if (rule.op === "within_last_days") {
                return labelled(id, "Days", el("input", {type: "number", id, min: 1, value: rule.value, required: true,
                    oninput: (event) => update(event.target.value)}));
            }
            if (field.type === "boolean") {
                return labelled(id, "Value", select(id, [["true", "Yes"], ["false", "No"]], String(rule.value || "true"),
                    (event) => update(event.target.value)));
            }
            if (field.type === "choice" && !many) {
                return labelled(id, "Value", select(id, field.choices, rule.value, (event) => update(event.target.value)));
            }
            const type = {date: "date", number: "number"}[field.type] || "text";
            const attrs = {type, id, value: Array.isArray(rule.value) ? rule.value.join(", ") : rule.value,
                           oninput: (event) => update(event.target.value)};
            const nodes = [];
            if (field.suggestions && field.suggestions.length && type === "text") {
                attrs.list = `${id}-suggestions`;
                nodes.push(el("datalist", {id: attrs.list}, field.suggestions.map((value) => el("option", {value}))));
            }
            if (type === "number") attrs.step = "any";
            const wrapper = labelled(id, many ? "Values" : "Value", el("input", attrs));
            wrapper.append(...nodes);
            return wrapper;
        }

        checkboxes(rule, field) {
            const chosen = new Set((Array.isArray(rule.value) ? rule.value : []).map(String));
            rule.value = [...chosen];
            const boxes = field.choices.map(([value, text], index) => {
                const id = `${rule.uid}-value-${index}`;
                return el("span", {className: "rapport-builder__choice"},
                    el("input", {type: "checkbox", id, value, checked: chosen.has(String(value)), onchange: (event) => {
                        if (event.target.checked) chosen.add(String(value)); else chosen.delete(String(value));
                        const numeric = field.choices.every(([option]) => typeof option === "number");
                        rule.value = [...chosen].map((item) => (numeric ? Number(item) : item));
                        this.change();
                    }}),
                    el("label", {for: id, text}));
            });
            return el("fieldset", {className: "rapport-builder__choices"},
                el("legend", {className: "rapport-builder__label", text: field.label}), boxes);
        }

        eventControls(rule) {
            const eventId = `${rule.uid}-event`;
            const controls = [labelled(eventId, "Contact", select(eventId, this.schema.events, rule.event, (event) => {
                rule.event = event.target.value;
                this.change(true);
            }))];
            if (rule.event === "not_opened") {
                const id = `${rule.uid}-last`;
                controls.push(labelled(id, "Campaigns", el("input", {type: "number", id, min: 1, value: rule.last_campaigns,
                    oninput: (event) => { rule.last_campaigns = event.target.value; this.change(); }})));
                return controls;
            }
            const campaignId = `${rule.uid}-campaign`;
            controls.push(labelled(campaignId, "Campaign",
                select(campaignId, [["", "any campaign"], ...this.schema.campaigns], rule.campaign,
                    (event) => { rule.campaign = event.target.value; this.change(); })));
            if (rule.event === "clicked") {
                const linkId = `${rule.uid}-link`;
                controls.push(labelled(linkId, "Link", el("input", {type: "url", id: linkId, value: rule.link,
                    placeholder: "any link", oninput: (event) => { rule.link = event.target.value; this.change(); }})));
            }
            const daysId = `${rule.uid}-days`;
            controls.push(labelled(daysId, "In the last … days", el("input", {type: "number", id: daysId, min: 1,
                value: rule.within_days, placeholder: "ever",
                oninput: (event) => { rule.within_days = event.target.value; this.change(); }})));
            return controls;
        }
    }

    function start() {
        for (const container of document.querySelectorAll("[data-segment-builder]")) {
            if (!container.builder) container.builder = new Builder(container);
        }
    }

    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
})();
