--[[
figure-provenance.lua -- say where each chapter figure came from, and pick
the raster version of figures for non-LaTeX output.

Why: a figure in the report must be traceable to the run that drew it: the
profile it was computed with, the C source that draws it and the commit.
These are known to the assembler, which puts them on the chapter Div:

    ::: {.chapter ... profile="quick" commit="d03170a"
                  figures-source="chapters/01-upper-bound/ub_figures.c"}

What:
  * every figure (pandoc 2.17 implicit figure: a Para holding only an Image
    whose title starts with "fig:") inside a `.chapter` Div gets appended to
    its caption a small note
        (profile: quick; source: chapters/01-upper-bound/ub_figures.c; commit: d03170a)
    built from the Div's attributes (absent attributes are left out; with
    none, no note).  The note is a Span of class `provenance`; for LaTeX it
    is set in \footnotesize, for HTML it carries style="font-size:smaller".
  * for output formats other than LaTeX (FORMAT not latex/beamer), every
    Image whose src ends in `.pdf` gets the `.png` next to it instead (the
    figure programs write both), since browsers do not show PDF images.
    URLs (scheme:) are left alone.
Run it after crossref.lua (which prefixes captions with "Figure N:" for HTML).
]]

local is_latex = FORMAT == 'latex' or FORMAT == 'beamer'

local function has_class(el, cls)
  for _, c in ipairs(el.classes) do if c == cls then return true end end
  return false
end

local function is_figure(para)
  return #para.content == 1 and para.content[1].t == 'Image' and
         para.content[1].title:sub(1, 4) == 'fig:'
end

local function note(div)
  local parts = {}
  local function add(label, attr)
    local v = div.attributes[attr]
    if v and v ~= '' then parts[#parts + 1] = label .. ': ' .. v end
  end
  add('profile', 'profile')
  add('non-default', 'overrides') -- a tweaked run's figure never looks canonical
  add('source', 'figures-source')
  add('commit', 'commit')
  if #parts == 0 then return nil end
  return '(' .. table.concat(parts, '; ') .. ')'
end

local function note_inlines(text)
  local ils = pandoc.List()
  -- keep the words as separate Str/Space so the writers can break lines
  local first = true
  for word in text:gmatch('%S+') do
    if not first then ils:insert(pandoc.Space()) end
    ils:insert(pandoc.Str(word))
    first = false
  end
  if is_latex then
    ils:insert(1, pandoc.RawInline('latex', '\\begingroup\\footnotesize '))
    ils:insert(pandoc.RawInline('latex', '\\endgroup{}'))
    return pandoc.Span(ils, pandoc.Attr('', { 'provenance' }))
  end
  return pandoc.Span(ils, pandoc.Attr('', { 'provenance' }, { style = 'font-size:smaller' }))
end

function Image(img)
  if is_latex then return nil end
  local src = img.src
  if src:match('^%a[%w+.-]*:') then return nil end -- URL
  local base = src:match('^(.*)%.[pP][dD][fF]$')
  if base then
    img.src = base .. '.png'
    return img
  end
  return nil
end

function Div(div)
  if not has_class(div, 'chapter') then return nil end
  local text = note(div)
  if not text then return nil end
  return pandoc.walk_block(div, {
    Para = function(para)
      if not is_figure(para) then return nil end
      local img = para.content[1]
      local cap = pandoc.List()
      cap:extend(img.caption)
      if #cap > 0 then cap:insert(pandoc.Space()) end
      cap:insert(note_inlines(text))
      img.caption = cap
      return pandoc.Para { img }
    end,
  })
end
