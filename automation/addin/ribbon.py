"""The ribbon (customUI14 XML) generated from the action registry, and its check."""

from __future__ import annotations

from lxml import etree

from automation.addin.registry import ACTIONS, BY_ID, Action

NS = "http://schemas.microsoft.com/office/2009/07/customui"
CALLBACK = "OfstedButton"  # the one VBA sub every button calls (see vba.py)


def ribbon_xml(actions: tuple[Action, ...] = ACTIONS) -> bytes:
    """customUI14 XML: an "Ofsted" tab with one group per registry group."""
    E = lambda tag, **attrs: etree.Element(f"{{{NS}}}{tag}", **attrs)  # noqa: E731
    root = E("customUI")
    tab = etree.SubElement(etree.SubElement(etree.SubElement(root, f"{{{NS}}}ribbon"), f"{{{NS}}}tabs"),
                           f"{{{NS}}}tab", id="ofstedTab", label="Ofsted")
    for g, name in enumerate(dict.fromkeys(a.group for a in actions)):
        group = etree.SubElement(tab, f"{{{NS}}}group", id=f"ofstedGroup{g + 1}", label=name)
        for a in (a for a in actions if a.group == name):
            etree.SubElement(group, f"{{{NS}}}button", id=f"ofsted_{a.id}", label=a.label, size="large",
                             imageMso=a.icon, screentip=a.label, supertip=a.tip, tag=a.id, onAction=CALLBACK)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True, pretty_print=True)


def check_ribbon(xml: bytes) -> list[str]:
    """What is wrong with the ribbon: a callback that is not the dispatcher, a tag with no
    registered action, an action with no button, duplicate ids. Empty when all is well."""
    root = etree.fromstring(xml)
    wrong: list[str] = []
    if root.tag != f"{{{NS}}}customUI":
        wrong.append(f"root element is {root.tag}, not customUI in the 2009/07 (customUI14) namespace")
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    wrong += [f"id {i!r} is used more than once" for i in sorted({i for i in ids if ids.count(i) > 1})]
    tags = []
    for e in root.iter():
        for attr, value in e.attrib.items():
            if (attr.startswith("on") or attr.startswith("get")) and value != CALLBACK:
                wrong.append(f"{e.get('id')}: {attr}={value!r} is not the dispatcher {CALLBACK}")
        if e.tag == f"{{{NS}}}button":
            if e.get("onAction") != CALLBACK:
                wrong.append(f"button {e.get('id')} has no onAction={CALLBACK}")
            tag = e.get("tag")
            tags.append(tag)
            if tag not in BY_ID:
                wrong.append(f"button {e.get('id')} has tag {tag!r}, which is no registered action")
    wrong += [f"action {a} has no button" for a in BY_ID if a not in tags]
    return wrong
