--[[
placeholders.lua -- fill `{{key}}` placeholders from a chapter's values file.

Why: chapter.md never contains a measured number.  Every number is written as
`{{key}}` and comes from the values file the chapter's run wrote, so the text
cannot drift from the results, and a renamed or missing value fails the build
instead of printing a stale number.

What: inside a Div of class `chapter` (attributes `values="path/to/values.lua"`
and `file="chapters/.../chapter.md"`), every `{{key}}` is replaced by the entry
of the values file (Lua source `return { ["key"] = { display=..., latex=...,
kind="number"|"string" }, ... }`, loaded with dofile once per path):

  * in text (Str): a number becomes InlineMath holding its `latex` with the
    surrounding `$...$` stripped; a string becomes Str(display).  Text around
    the placeholder in the same Str (`({{x}})`, `{{a}},`, `{{a}}-{{b}}`) is kept.
  * inside Math (`$[{{param.fit_lo}},{{param.fit_hi}}]$`): a number is
    replaced by its latex without `$`, a string by `\text{display}` (display
    LaTeX-escaped).
  * inside RawInline/RawBlock of format latex/tex: the latex string as is
    (with its `$`), a string as escaped display; other raw formats: display.

Every list of inlines in the Div is visited, so table cells, table captions,
image (figure) captions, headers, link texts and notes are covered.

Splitting: pandoc 2.17 keeps `{{a.b-c_d}}` (letters, digits, `.`, `-`, `_`)
in a single Str, but `{{ key }}` (blanks inside the braces) is split into
Str/Space/Str, and the `smart` extension turns `--`, `---`, `...` into
dashes and an ellipsis.  Both are handled: an unclosed `{{` in a Str is joined
with the following Str/Space/SoftBreak elements up to `}}`, and the smart
replacements are undone inside the braces.

Code and CodeBlock contents are verbatim and never touched (C code may
contain `{{0}}`).

Errors, each one stderr line then os.exit(1):
  placeholders: unknown key 'KEY' in FILE
  placeholders: unterminated '{{' in FILE
  placeholders: cannot load values file 'PATH' for FILE: ...
  placeholders: placeholder '{{KEY}}' outside any chapter
After the filter no `{{` remains in text, math or raw elements of the body.
]]

local function fail(msg)
  io.stderr:write('placeholders: ', msg, '\n')
  os.exit(1)
end

local values_cache = {}

local function load_values(path, file)
  if values_cache[path] then return values_cache[path] end
  if not path or path == '' then
    fail("chapter " .. file .. " has placeholders but no values= attribute")
  end
  local ok, res = pcall(dofile, path)
  if not ok then
    fail("cannot load values file '" .. path .. "' for " .. file .. ': ' .. tostring(res))
  end
  if type(res) ~= 'table' then
    fail("values file '" .. path .. "' for " .. file .. ' does not return a table')
  end
  values_cache[path] = res
  return res
end

-- Undo what the smart extension does to key text, trim blanks.
local function normalize_key(k)
  k = k:gsub('—', '---'):gsub('–', '--'):gsub('…', '...')
  k = k:gsub('^%s+', ''):gsub('%s+$', '')
  return k
end

local function latex_escape(s)
  local map = {
    ['\\'] = '\\textbackslash{}', ['{'] = '\\{', ['}'] = '\\}',
    ['$'] = '\\$', ['&'] = '\\&', ['#'] = '\\#', ['%'] = '\\%',
    ['_'] = '\\_', ['^'] = '\\^{}', ['~'] = '\\~{}',
  }
  return (s:gsub('[\\{}%$&#%%_%^~]', map))
end

local function strip_dollars(s)
  local inner = s:match('^%s*%$(.*)%$%s*$')
  return inner or s
end

-- Context of one chapter Div.
local Chapter = {}
Chapter.__index = Chapter

function Chapter.new(div)
  local self = setmetatable({}, Chapter)
  self.file = div.attributes['file'] or '(chapter without file=)'
  self.values_path = div.attributes['values']
  return self
end

function Chapter:lookup(raw_key)
  local key = normalize_key(raw_key)
  local vals = load_values(self.values_path, self.file)
  local v = vals[key]
  if type(v) ~= 'table' then
    fail("unknown key '" .. key .. "' in " .. self.file)
  end
  local display = v.display ~= nil and tostring(v.display) or nil
  local latex = v.latex ~= nil and tostring(v.latex) or nil
  local is_number
  if v.kind == 'string' then
    is_number = false
  elseif v.kind == 'number' then
    is_number = true
  else -- unknown kind: decide by the shape of the latex string
    is_number = latex ~= nil and latex:match('^%s*%$.*%$%s*$') ~= nil
  end
  if display == nil and latex == nil then
    fail("key '" .. key .. "' in values file '" .. self.values_path ..
         "' has neither display nor latex (" .. self.file .. ')')
  end
  display = display or strip_dollars(latex)
  latex = latex or display
  return { key = key, number = is_number, display = display, latex = latex,
           math = strip_dollars(latex) }
end

-- Replace all placeholders of a Str text; returns a list of inlines.
function Chapter:expand_text(text)
  local out = {}
  local pos = 1
  while true do
    local s, e, key = text:find('{{(.-)}}', pos)
    if not s then break end
    if s > pos then out[#out + 1] = pandoc.Str(text:sub(pos, s - 1)) end
    local v = self:lookup(key)
    if v.number then
      out[#out + 1] = pandoc.Math('InlineMath', v.math)
    else
      out[#out + 1] = pandoc.Str(v.display)
    end
    pos = e + 1
  end
  local rest = text:sub(pos)
  if rest:find('{{', 1, true) then
    fail("unterminated '{{' in " .. self.file .. ": '" .. rest .. "'")
  end
  if rest ~= '' then out[#out + 1] = pandoc.Str(rest) end
  return out
end

function Chapter:expand_math(text)
  local res = text:gsub('{{(.-)}}', function(key)
    local v = self:lookup(key)
    if v.number then return v.math end
    return '\\text{' .. latex_escape(v.display) .. '}'
  end)
  if res:find('{{', 1, true) then
    fail("unterminated '{{' in math in " .. self.file .. ": '" .. text .. "'")
  end
  return res
end

function Chapter:expand_raw(format, text)
  local is_tex = format == 'latex' or format == 'tex' or format == 'beamer'
  local res = text:gsub('{{(.-)}}', function(key)
    local v = self:lookup(key)
    if is_tex then
      return v.number and v.latex or latex_escape(v.display)
    end
    return v.display
  end)
  return res
end

-- true if `text` has a `{{` not followed by a `}}`
local function unclosed(text)
  local last_open
  local p = 1
  while true do
    local s = text:find('{{', p, true)
    if not s then break end
    last_open = s
    p = s + 2
  end
  if not last_open then return false end
  return text:find('}}', last_open + 2, true) == nil
end

local joinable = { Str = true, Space = true, SoftBreak = true }

function Chapter:inlines(ils)
  local out = pandoc.List()
  local changed = false
  local i = 1
  local n = #ils
  while i <= n do
    local el = ils[i]
    if el.t == 'Str' and el.text:find('{{', 1, true) then
      local text = el.text
      local j = i
      while unclosed(text) and j < n and joinable[ils[j + 1].t] do
        j = j + 1
        text = text .. (ils[j].t == 'Str' and ils[j].text or ' ')
      end
      out:extend(self:expand_text(text))
      changed = true
      i = j + 1
    elseif el.t == 'Math' and el.text:find('{{', 1, true) then
      out:insert(pandoc.Math(el.mathtype, self:expand_math(el.text)))
      changed = true
      i = i + 1
    elseif el.t == 'RawInline' and el.text:find('{{', 1, true) then
      out:insert(pandoc.RawInline(el.format, self:expand_raw(el.format, el.text)))
      changed = true
      i = i + 1
    else
      out:insert(el)
      i = i + 1
    end
  end
  if changed then return out end
  return nil
end

local function is_chapter(div)
  for _, c in ipairs(div.classes) do
    if c == 'chapter' then return true end
  end
  return false
end

function Div(div)
  if not is_chapter(div) then return nil end
  local ch = Chapter.new(div)
  return pandoc.walk_block(div, {
    Inlines = function(ils) return ch:inlines(ils) end,
    RawBlock = function(rb)
      if rb.text:find('{{', 1, true) then
        return pandoc.RawBlock(rb.format, ch:expand_raw(rb.format, rb.text))
      end
    end,
  })
end

-- Final check: anything left is outside every chapter Div.
function Pandoc(doc)
  local function check(text)
    local s = text:find('{{', 1, true)
    if s then
      local key = text:match('{{(.-)}}', s)
      if key then
        fail("placeholder '{{" .. normalize_key(key) .. "}}' outside any chapter")
      end
      fail("'{{' outside any chapter: '" .. text .. "'")
    end
  end
  pandoc.walk_block(pandoc.Div(doc.blocks), {
    Str = function(el) check(el.text) end,
    Math = function(el) check(el.text) end,
    RawInline = function(el) check(el.text) end,
    RawBlock = function(el) check(el.text) end,
  })
  return nil
end
