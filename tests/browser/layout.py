"""Measurements of a rendered page for the layout tests: what overlaps, what is cut, what
scrolls sideways. Each function runs in the page and returns plain data to assert on."""

from playwright.sync_api import Locator, Page

# Pairs of visible boxes among these elements (inside ``root``) that overlap, ignoring an
# element and its own ancestor (a checkbox inside its label). Each pair is described by tag,
# id or class and its text, so a failure says what collides.
_OVERLAPS = """
([root, selector]) => {
  const scope = document.querySelector(root);
  const boxes = [...scope.querySelectorAll(selector)]
    .map((element) => ({ element, rect: element.getBoundingClientRect() }))
    .filter(({ element, rect }) => rect.width > 0 && rect.height > 0
      && getComputedStyle(element).visibility !== "hidden");
  const name = (e) => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}`
    + `${e.className && typeof e.className === "string" ? "." + e.className.split(" ").join(".") : ""}`
    + ` "${(e.textContent || e.value || "").trim().slice(0, 40)}"`;
  const found = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.element.contains(b.element) || b.element.contains(a.element)) continue;
      const x = Math.min(a.rect.right, b.rect.right) - Math.max(a.rect.left, b.rect.left);
      const y = Math.min(a.rect.bottom, b.rect.bottom) - Math.max(a.rect.top, b.rect.top);
      if (x > 1 && y > 1) found.push(`${name(a.element)} × ${name(b.element)}`);
    }
  }
  return found;
}
"""


def overlaps(page: Page, root: str, selector: str) -> list[str]:
    """Descriptions of the pairs of elements matching ``selector`` under ``root`` whose boxes
    overlap (by more than a pixel each way)."""
    return page.evaluate(_OVERLAPS, [root, selector])


def line_count(locator: Locator) -> int:
    """How many lines the element's text takes: its height over its line height, rounded."""
    return locator.evaluate(
        """element => {
          const style = getComputedStyle(element);
          const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.2;
          const inner = element.getBoundingClientRect().height
            - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom)
            - parseFloat(style.borderTopWidth) - parseFloat(style.borderBottomWidth);
          return Math.round(inner / line);
        }"""
    )


def is_cut(locator: Locator) -> bool:
    """True when the element's content is wider or taller than its box (clipped or spilling)."""
    return locator.evaluate(
        "e => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1"
    )


def sideways_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate(
        "() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"
    )


def outside_the_window(page: Page, selector: str) -> list[str]:
    """The visible elements matching ``selector`` whose right edge is beyond the window's, or
    beyond the right edge of a scrolling container they are in (off screen until scrolled)."""
    return page.evaluate(
        """selector => {
          const out = [];
          for (const element of document.querySelectorAll(selector)) {
            const rect = element.getBoundingClientRect();
            if (rect.width === 0 && rect.height === 0) continue;
            let right = window.innerWidth;
            for (let p = element.parentElement; p; p = p.parentElement) {
              const overflow = getComputedStyle(p).overflowX;
              if (overflow === "auto" || overflow === "scroll" || overflow === "hidden") {
                right = Math.min(right, p.getBoundingClientRect().right);
              }
            }
            if (rect.right > right + 1) {
              out.push(`${element.tagName.toLowerCase()} "${element.textContent.trim().slice(0, 40)}"`);
            }
          }
          return out;
        }""",
        selector,
    )
