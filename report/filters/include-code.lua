--[[
include-code.lua -- splice excerpts of the chapters' C sources into the report.

Why: the report shows the code that computes each result.  Copying code by
hand into chapter.md goes stale silently; with this filter the report always
shows the code that was built, and the build fails when an excerpt vanishes.

What: a CodeBlock with attributes

    ```{.c include="chapters/01-upper-bound/ub_model.c" excerpt="construct-net"}
    ```

gets as its text the lines strictly between the line holding the comment
`/* excerpt: construct-net */` and the next line holding `/* end excerpt */`
(marker lines excluded; the text is kept verbatim, so the common leading
indentation of the source stays).  The block gets class `c` for highlighting
(for .c/.h files; other files keep just their own classes), loses the
include/excerpt attributes, and is preceded by a small emphasised Para
"`path`, lines A–B" with the real line numbers of the included text
("line A" for a one-line excerpt).  Without `excerpt`, the whole file is
included.

Marker matching compares the whole comment (`/*`, optional blanks, `excerpt:`,
blanks, NAME, optional blanks, `*/`), so an excerpt named `construct-net`
never matches `/* excerpt: construct-net-tied */`.

Paths are relative to the current directory (pandoc runs from the repo root).

Errors (missing file, missing start or end marker, `excerpt` without
`include`, empty excerpt): one line on stderr naming the file and the marker,
then os.exit(1), so that `make report` fails.
]]

local function fail(msg)
  io.stderr:write('include-code: ', msg, '\n')
  os.exit(1)
end

-- Escape Lua pattern magic characters.
local function pesc(s)
  return (s:gsub('[%^%$%(%)%%%.%[%]%*%+%-%?]', '%%%0'))
end

local cache = {}

local function read_lines(path)
  if cache[path] then return cache[path] end
  local fh = io.open(path, 'rb')
  if not fh then fail(path .. ': cannot open file') end
  local text = fh:read('a')
  fh:close()
  local lines = {}
  -- split on \n, dropping a trailing \r (CRLF sources)
  for line in (text .. '\n'):gmatch('(.-)\n') do
    lines[#lines + 1] = (line:gsub('\r$', ''))
  end
  -- the split above yields one extra empty line when the file ends with \n
  if text:sub(-1) == '\n' then lines[#lines] = nil end
  cache[path] = lines
  return lines
end

local END_PAT = '/%*%s*end excerpt%s*%*/'

local function excerpt(path, name)
  local lines = read_lines(path)
  if not name then return lines, 1, #lines end
  local start_pat = '/%*%s*excerpt:%s*' .. pesc(name) .. '%s*%*/'
  local s
  for i, l in ipairs(lines) do
    if l:find(start_pat) then s = i; break end
  end
  if not s then fail(path .. ": no marker 'excerpt: " .. name .. "'") end
  local e
  for i = s + 1, #lines do
    if lines[i]:find(END_PAT) then e = i; break end
  end
  if not e then
    fail(path .. ": no marker 'end excerpt' after 'excerpt: " .. name ..
         "' (line " .. s .. ')')
  end
  if e == s + 1 then
    fail(path .. ": marker 'excerpt: " .. name .. "' (line " .. s ..
         ') encloses no lines')
  end
  return lines, s + 1, e - 1
end

function CodeBlock(cb)
  local path = cb.attributes['include']
  local name = cb.attributes['excerpt']
  if not path then
    if name then fail("code block with excerpt '" .. name .. "' but no include= attribute") end
    return nil
  end
  local lines, a, b = excerpt(path, name)
  local body = {}
  for i = a, b do body[#body + 1] = lines[i] end

  local classes = {}
  local has_c = false
  for _, c in ipairs(cb.classes) do
    classes[#classes + 1] = c
    if c == 'c' then has_c = true end
  end
  -- C sources (.c/.h) are highlighted as C; other files keep their classes
  if not has_c and path:match('%.[ch]$') then table.insert(classes, 1, 'c') end
  -- drop our two attributes in place, keeping the others in source order
  -- (a rebuilt table would be iterated in hash order: not reproducible)
  cb.attributes['include'] = nil
  cb.attributes['excerpt'] = nil
  cb.classes = classes
  cb.text = table.concat(body, '\n')
  local code = cb
  local label = pandoc.Para {
    pandoc.Emph { pandoc.Code(path),
                  pandoc.Str(a == b and (', line ' .. a) or (', lines ' .. a .. '–' .. b)) }
  }
  return { label, code }
end
