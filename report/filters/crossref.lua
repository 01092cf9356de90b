--[[
crossref.lua -- numbered cross-references (@fig:, @tbl:, @eq:, @sec:) for
pandoc 2.17 without pandoc-crossref.

Why: the chapters refer to their figures, tables, equations and sections by
label; pandoc's markdown reader parses `@fig:x` as a citation.  This filter
must run before --citeproc, turns those Cites into references, and leaves
every other Cite (bibliography keys) to citeproc.  A reference to an unknown
label fails the build, so no "??" can reach the PDF.

Targets (registered in document order; a duplicate label is an error):
  * figures: a Para holding just an Image whose title starts with "fig:"
    (pandoc 2.17's implicit figure) and whose identifier starts with `fig:`
    (`![caption](file.pdf){#fig:id}`);
  * tables: pandoc 2.17 takes no attributes on tables, so the caption ends
    with the literal text `{#tbl:id}`; it is stripped from the caption and the
    table gets identifier `tbl:id` (a table whose identifier already starts
    with `tbl:` is registered too);
  * equations: a DisplayMath followed in the same Para/Plain, possibly after a
    Space or SoftBreak, by a Str `{#eq:id}` (text after the brace, e.g. a
    full stop, is kept);
  * sections: Headers with identifier `sec:...`.

Output:
  LaTeX (FORMAT latex/beamer): LaTeX numbers everything and the filter emits
    `Figure~\ref{fig:id}`, `Table~\ref{tbl:id}`, `Equation~(\ref{eq:id})`,
    `Section~\ref{sec:id}` as RawInline.  Labels: pandoc's LaTeX writer
    already emits `\label{fig:id}` in the caption of an implicit figure with
    an id, and `\label{sec:id}` after a header; for tables the filter appends
    RawInline `\label{tbl:id}` to the caption (longtable's \caption steps the
    table counter); an equation's DisplayMath is replaced by RawInline
    `\begin{equation}...\label{eq:id}\end{equation}` (content holding `\\`
    and no environment of its own is wrapped in `aligned`).
  other formats (HTML, ...): numbers are computed here: figures 1, 2, ..,
    tables 1, 2, .., equations (1), (2), .. in document order (every
    implicit figure and every captioned table is counted, labelled or not,
    as LaTeX does; for LaTeX an uncaptioned table gets
    `\addtocounter{table}{-1}` after it, since longtable steps the counter
    even without a caption); sections get
    hierarchical numbers (1, 1.2, ...) counted over all headers the way
    pandoc's --number-sections does (headers of class `unnumbered` are not
    counted; --number-offset is honoured).  References are Links to `#id`;
    captions are prefixed "Figure N: " / "Table N: "; an equation becomes a
    Span with the id holding the DisplayMath with `\qquad(N)` appended.
    With LaTeX these numbers agree with LaTeX's as long as the document class
    numbers figures, tables and equations consecutively (article) and there
    is no \appendix or raw LaTeX sectioning.

Sections: with --number-sections (PANDOC_WRITER_OPTIONS.number_sections; if
that is unavailable, numbering is assumed) or metadata `numbersections: true`
(which numbers the LaTeX sections through the template), a reference reads
"Section 2.1"; otherwise, or to an `unnumbered` header, the reference is a
Link whose text is the header's title.  (For HTML, numbers only show in the
headers themselves with --number-sections.)

Reference text: "Figure 3", "Table 2", "Equation (4)", "Section 2.1", with a
non-breaking space.  `[@fig:a; @fig:b]` gives "Figures 1 and 2", three or more
"Figures 1, 2 and 3"; references of different kinds are joined with ", ".
`[-@fig:a]` (suppress-author) gives the bare number ("3", "(4)").  Prefix and
suffix of a bracketed citation are kept (`[see @fig:a, left]`).  A Cite that
mixes labels and bibliography keys is split: the keys stay in a Cite.

Error: `crossref: unknown reference 'fig:nope'` (or `duplicate label`) on
stderr, then os.exit(1).
]]

local function fail(msg)
  io.stderr:write('crossref: ', msg, '\n')
  os.exit(1)
end

local NBSP = '\u{a0}'
local is_latex = FORMAT == 'latex' or FORMAT == 'beamer'

local number_sections = true
local number_offset = {}
if PANDOC_WRITER_OPTIONS then
  if PANDOC_WRITER_OPTIONS.number_sections ~= nil then
    number_sections = PANDOC_WRITER_OPTIONS.number_sections
  end
  if PANDOC_WRITER_OPTIONS.number_offset then
    for i, v in ipairs(PANDOC_WRITER_OPTIONS.number_offset) do number_offset[i] = v end
  end
end

local KINDS = {
  fig = { one = 'Figure', many = 'Figures' },
  tbl = { one = 'Table', many = 'Tables' },
  eq  = { one = 'Equation', many = 'Equations' },
  sec = { one = 'Section', many = 'Sections' },
}

-- label -> { kind=, num= (string), title= (inlines, sections), numbered= }
local targets = {}
local counters = { fig = 0, tbl = 0, eq = 0 }
local sec_counters = { 0, 0, 0, 0, 0, 0 }

local function kind_of(id)
  local k = id:match('^(%a+):.')
  if k and KINDS[k] then return k end
  return nil
end

local function register(id, t)
  if targets[id] then fail("duplicate label '" .. id .. "'") end
  targets[id] = t
end

local function next_num(kind)
  counters[kind] = counters[kind] + 1
  return tostring(counters[kind])
end

local function has_class(el, cls)
  for _, c in ipairs(el.classes) do if c == cls then return true end end
  return false
end

---------------------------------------------------------------- targets

local function prefix_caption(inlines, word, num)
  local out = pandoc.List { pandoc.Str(word .. NBSP .. num .. ':'), pandoc.Space() }
  out:extend(inlines)
  return out
end

-- implicit figure: every one is numbered (LaTeX numbers them all), the
-- ones with a `fig:` identifier are registered as targets
local function figure_para(para)
  if #para.content ~= 1 then return nil end
  local img = para.content[1]
  if img.t ~= 'Image' or img.title:sub(1, 4) ~= 'fig:' then return nil end
  local num = next_num('fig')
  local id = img.identifier
  if id:sub(1, 4) == 'fig:' then register(id, { kind = 'fig', num = num }) end
  if not is_latex then
    img.caption = prefix_caption(img.caption, 'Figure', num)
    return pandoc.Para { img }
  end
  return nil
end

-- multi-line content (holding \\) without an environment of its own
local function wrap_lines(text)
  if text:find('\\\\') and not text:find('\\begin{') then
    return '\\begin{aligned}' .. text .. '\\end{aligned}'
  end
  return text
end

local function math_with_number(text, num)
  return pandoc.Math('DisplayMath', wrap_lines(text) .. '\\qquad(' .. num .. ')')
end

local function latex_equation(text, id)
  local body = wrap_lines(text)
  return pandoc.RawInline('latex',
    '\\begin{equation}' .. body .. '\\label{' .. id .. '}\\end{equation}')
end

-- equations in one list of inlines; returns new list or nil
local function equations(inlines)
  local out = pandoc.List()
  local changed = false
  local i, n = 1, #inlines
  while i <= n do
    local el = inlines[i]
    if el.t == 'Math' and el.mathtype == 'DisplayMath' then
      local j = i + 1
      if j <= n and (inlines[j].t == 'Space' or inlines[j].t == 'SoftBreak') then j = j + 1 end
      local lab = j <= n and inlines[j].t == 'Str' and inlines[j].text
      local id, rest
      if lab then id, rest = lab:match('^{#(eq:[^}%s]+)}(.*)$') end
      if id then
        local num = next_num('eq')
        register(id, { kind = 'eq', num = num })
        if is_latex then
          out:insert(latex_equation(el.text, id))
        else
          out:insert(pandoc.Span({ math_with_number(el.text, num) },
                                 pandoc.Attr(id, { 'equation' })))
        end
        if rest ~= '' then out:insert(pandoc.Str(rest)) end
        changed = true
        i = j + 1
      else
        out:insert(el)
        i = i + 1
      end
    else
      out:insert(el)
      i = i + 1
    end
  end
  if changed then return out end
  return nil
end

local function para_or_plain(blk)
  if blk.t == 'Para' then
    local f = figure_para(blk)
    if f ~= nil then return f end
    -- a figure in LaTeX is registered and left unchanged
    if #blk.content == 1 and blk.content[1].t == 'Image' and
       blk.content[1].title:sub(1, 4) == 'fig:' then
      return nil
    end
  end
  local new = equations(blk.content)
  if new then
    if blk.t == 'Para' then return pandoc.Para(new) end
    return pandoc.Plain(new)
  end
  return nil
end

local function table_target(tbl)
  local id = tbl.identifier
  if id == '' or id == nil then id = nil end
  local long = tbl.caption.long
  local last = long and #long > 0 and long[#long]
  if last and (last.t == 'Plain' or last.t == 'Para') then
    local ils = last.content
    local k = #ils
    while k > 0 and (ils[k].t == 'Space' or ils[k].t == 'SoftBreak') do k = k - 1 end
    if k > 0 and ils[k].t == 'Str' then
      local lab = ils[k].text:match('^{#(tbl:[^}%s]+)}$')
      if lab then
        if id and id ~= lab then
          fail("table has two labels '" .. id .. "' and '" .. lab .. "'")
        end
        id = lab
        -- drop the label and the blanks before it
        local keep = pandoc.List()
        local m = k - 1
        while m > 0 and (ils[m].t == 'Space' or ils[m].t == 'SoftBreak') do m = m - 1 end
        for q = 1, m do keep:insert(ils[q]) end
        last.content = keep
      end
    end
  end
  local captioned = false
  for _, b in ipairs(long) do
    if b.content and #b.content > 0 then captioned = true end
  end
  if id and id:sub(1, 4) ~= 'tbl:' then id = nil end
  if not captioned and not id then
    -- longtable steps the table counter even without a caption; give the
    -- number back so that LaTeX's numbers stay those computed here
    if is_latex then
      return { tbl, pandoc.RawBlock('latex', '\\addtocounter{table}{-1}') }
    end
    return nil
  end
  -- every captioned table is numbered (LaTeX prints "Table N:" for all)
  local num = next_num('tbl')
  if id then
    register(id, { kind = 'tbl', num = num })
    tbl.identifier = id
  end
  if #long == 0 then long:insert(pandoc.Plain {}) end
  local cap = long[#long]
  if is_latex then
    if id then cap.content:insert(pandoc.RawInline('latex', '\\label{' .. id .. '}')) end
  else
    cap.content = prefix_caption(cap.content, 'Table', num)
  end
  return tbl
end

local function header_target(h)
  local numbered = number_sections and not has_class(h, 'unnumbered')
  local num
  if numbered then
    local lvl = h.level
    sec_counters[lvl] = sec_counters[lvl] + 1
    for l = lvl + 1, #sec_counters do sec_counters[l] = 0 end
    local parts = {}
    for l = 1, lvl do parts[l] = tostring(sec_counters[l] + (number_offset[l] or 0)) end
    num = table.concat(parts, '.')
  end
  if h.identifier:sub(1, 4) == 'sec:' then
    register(h.identifier, { kind = 'sec', num = num, numbered = numbered,
                             title = h.content })
  end
  return nil
end

---------------------------------------------------------------- references

local function ref_link(id, text_inlines)
  return pandoc.Link(text_inlines, '#' .. id)
end

local function num_text(t)
  if t.kind == 'eq' then return '(' .. t.num .. ')' end
  return t.num
end

local function latex_num(id, t)
  if t.kind == 'eq' then return '(\\ref{' .. id .. '})' end
  return '\\ref{' .. id .. '}'
end

-- A group: consecutive labels of one kind; items = { {id=, t=} }.
-- bare = true for suppress-author (no word).
local function render_group(g)
  local out = pandoc.List()
  local items = g.items
  -- an unnumbered section is referred to by its title
  if g.kind == 'sec' then
    local any_unnumbered = false
    for _, it in ipairs(items) do if not it.t.numbered then any_unnumbered = true end end
    if any_unnumbered then
      for idx, it in ipairs(items) do
        if idx > 1 then
          out:insert(pandoc.Str(idx == #items and ' and ' or ', '))
        end
        if it.t.numbered then
          if is_latex then
            out:insert(pandoc.RawInline('latex', 'Section~' .. latex_num(it.id, it.t)))
          else
            out:insert(ref_link(it.id, { pandoc.Str('Section' .. NBSP .. it.t.num) }))
          end
        else
          out:insert(ref_link(it.id, it.t.title))
        end
      end
      return out
    end
  end
  local names = KINDS[g.kind]
  local word = g.bare and '' or (#items > 1 and names.many or names.one)
  if is_latex then
    local s = g.bare and '' or (word .. '~')
    for idx, it in ipairs(items) do
      if idx > 1 then s = s .. (idx == #items and ' and~' or ', ') end
      s = s .. latex_num(it.id, it.t)
    end
    out:insert(pandoc.RawInline('latex', s))
  else
    if #items == 1 then
      local txt = g.bare and num_text(items[1].t) or (word .. NBSP .. num_text(items[1].t))
      out:insert(ref_link(items[1].id, { pandoc.Str(txt) }))
    else
      if not g.bare then out:insert(pandoc.Str(word .. NBSP)) end
      for idx, it in ipairs(items) do
        if idx > 1 then
          if idx == #items then
            out:insert(pandoc.Space()); out:insert(pandoc.Str('and' .. NBSP))
          else
            out:insert(pandoc.Str(',')); out:insert(pandoc.Space())
          end
        end
        out:insert(ref_link(it.id, { pandoc.Str(num_text(it.t)) }))
      end
    end
  end
  return out
end

local function Cite(cite)
  local any = false
  for _, c in ipairs(cite.citations) do
    if kind_of(c.id) then any = true; break end
  end
  if not any then return nil end

  local pieces = {}   -- { is_cite = bool, inlines = List }
  local cur = nil     -- open group of labels
  local others = {}   -- open run of bibliography citations

  local function close_group()
    if not cur then return end
    local ils = pandoc.List()
    if cur.prefix then ils:extend(cur.prefix); ils:insert(pandoc.Space()) end
    ils:extend(render_group(cur))
    if cur.suffix then
      local first = cur.suffix[1]
      -- ", p. 3" attaches directly; a word gets a space
      if not (first.t == 'Str' and first.text:match('^[,;.:)]')) then
        ils:insert(pandoc.Space())
      end
      ils:extend(cur.suffix)
    end
    table.insert(pieces, { is_cite = false, inlines = ils })
    cur = nil
  end
  local function close_others()
    if #others == 0 then return end
    local content = pandoc.List()
    for k, c in ipairs(others) do
      if k > 1 then content:insert(pandoc.Str(';')); content:insert(pandoc.Space()) end
      content:insert(pandoc.Str('@' .. c.id))
    end
    table.insert(pieces, { is_cite = true, inlines = pandoc.List { pandoc.Cite(content, others) } })
    others = {}
  end

  for _, c in ipairs(cite.citations) do
    local kind = kind_of(c.id)
    if kind then
      close_others()
      local t = targets[c.id]
      if not t then fail("unknown reference '" .. c.id .. "'") end
      local bare = c.mode == 'SuppressAuthor'
      local has_prefix = c.prefix ~= nil and #c.prefix > 0
      local has_suffix = c.suffix ~= nil and #c.suffix > 0
      if cur and (cur.kind ~= kind or cur.bare ~= bare or has_prefix) then close_group() end
      if not cur then
        cur = { kind = kind, bare = bare, items = {}, prefix = has_prefix and c.prefix or nil }
      end
      table.insert(cur.items, { id = c.id, t = t })
      if has_suffix then cur.suffix = c.suffix; close_group() end
    else
      close_group()
      table.insert(others, c)
    end
  end
  close_group()
  close_others()

  local out = pandoc.List()
  for k, p in ipairs(pieces) do
    if k > 1 then
      out:insert(pandoc.Str((p.is_cite or pieces[k - 1].is_cite) and ';' or ','))
      out:insert(pandoc.Space())
    end
    out:extend(p.inlines)
  end
  return out
end

-- two passes: register (and rewrite) all targets, then resolve references
return {
  {
    Pandoc = function(doc)
      -- `numbersections: true` in the metadata numbers LaTeX sections too
      local ns = doc.meta.numbersections
      if ns == true or (ns and type(ns) == 'table' and
                        pandoc.utils.stringify(ns):lower() == 'true') then
        number_sections = true
      end
      local blocks = pandoc.walk_block(pandoc.Div(doc.blocks), {
        Para = para_or_plain,
        Plain = para_or_plain,
        Table = table_target,
        Header = header_target,
      }).content
      return pandoc.Pandoc(blocks, doc.meta)
    end,
  },
  { Cite = Cite },
}
