-- banner.lua: a Div of class "banner" (a run with non-default parameters)
-- becomes a framed, coloured box in LaTeX, and keeps a class and style in
-- HTML, so that a tweaked run can never pass for the canonical one.
function Div(el)
  if not el.classes:includes("banner") then
    return nil
  end
  if FORMAT:match("latex") then
    local blocks = {pandoc.RawBlock("latex",
      "\\begin{center}\\fcolorbox{red!70!black}{red!6}{\\parbox{0.95\\linewidth}{")}
    for _, b in ipairs(el.content) do
      table.insert(blocks, b)
    end
    table.insert(blocks, pandoc.RawBlock("latex", "}}\\end{center}"))
    return blocks
  end
  el.attributes["style"] = "border:2px solid #a00;background:#fee;padding:0.5em"
  return el
end
