"""A local EWS stand-in: answers the SOAP requests exchangelib really makes for sending
(GetFolder, CreateItem with MimeContent, FindItem on Sent Items), with scripted faults."""

from __future__ import annotations

import base64
import email
import http.server
import threading
import time
import uuid
from dataclasses import dataclass, field

from lxml import etree

from tests.standins import HttpStandIn

S = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
NS = {"s": S, "m": M, "t": T}

_HEAD = (f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{S}" xmlns:m="{M}" xmlns:t="{T}">'
         '<s:Header><t:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" '
         'MinorBuildNumber="6" Version="V2017_07_11"/></s:Header><s:Body>')
_TAIL = "</s:Body></s:Envelope>"


@dataclass
class EwsState:
    """What the stand-in mailbox holds, and the faults to play on the next CreateItem calls."""

    sent: list[dict] = field(default_factory=list)  # {"message_id", "mime", "visible_at"}
    faults: list[str] = field(default_factory=list)  # "busy" | "cut_after_send" | "invalid_recipient"
    visible_after: float = 0.0  # seconds before a sent message shows in Sent Items
    delay: float = 0.0  # seconds each CreateItem takes
    requests: list[str] = field(default_factory=list)  # SOAP operation names, in order
    auth: list[str] = field(default_factory=list)
    require_auth: str = ""  # when set, any other Authorization header gets HTTP 401
    lock: threading.Lock = field(default_factory=threading.Lock)

    def message_ids(self) -> list[str]:
        with self.lock:
            return [m["message_id"] for m in self.sent]


def _folder(dist: str) -> str:
    names = {"root": "Top of Information Store", "sentitems": "Sent Items", "msgfolderroot": "Top of Information Store"}
    return (f'<t:Folder><t:FolderId Id="F-{dist}" ChangeKey="CK"/><t:ParentFolderId Id="F-root" ChangeKey="CK"/>'
            f'<t:FolderClass>IPF.Note</t:FolderClass><t:DisplayName>{names.get(dist, dist)}</t:DisplayName>'
            '<t:TotalCount>0</t:TotalCount><t:ChildFolderCount>0</t:ChildFolderCount>'
            '<t:EffectiveRights><t:CreateAssociated>true</t:CreateAssociated><t:CreateContents>true</t:CreateContents>'
            '<t:CreateHierarchy>true</t:CreateHierarchy><t:Delete>true</t:Delete><t:Modify>true</t:Modify>'
            '<t:Read>true</t:Read><t:ViewPrivateItems>true</t:ViewPrivateItems></t:EffectiveRights>'
            f'<t:UnreadCount>0</t:UnreadCount><t:DistinguishedFolderId>{dist}</t:DistinguishedFolderId></t:Folder>')


def _ok(op: str, inner: str, count: int = 1) -> str:
    msg = (f'<m:{op}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
           f'{inner}</m:{op}ResponseMessage>')
    return f"{_HEAD}<m:{op}Response><m:ResponseMessages>{msg * count}</m:ResponseMessages></m:{op}Response>{_TAIL}"


def _error(op: str, code: str, text: str) -> str:
    msg = (f'<m:{op}ResponseMessage ResponseClass="Error"><m:MessageText>{text}</m:MessageText>'
           f'<m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>'
           f'<m:Items/></m:{op}ResponseMessage>')
    return f"{_HEAD}<m:{op}Response><m:ResponseMessages>{msg}</m:ResponseMessages></m:{op}Response>{_TAIL}"


BUSY = (f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{S}"><s:Body><s:Fault>'
        f'<faultcode xmlns:a="{T}">a:ErrorServerBusy</faultcode>'
        '<faultstring xml:lang="en-US">The server cannot service this request right now. Try again later.</faultstring>'
        '<detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode>'
        '<e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The server cannot service this request right now. Try again later.</e:Message>'
        f'<t:MessageXml xmlns:t="{T}"><t:Value Name="BackOffMilliseconds">50</t:Value></t:MessageXml>'
        '</detail></s:Fault></s:Body></s:Envelope>')


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: EwsState

    def log_message(self, *args):  # keep test output clean
        pass

    def _reply(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        st = self.state
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        st.auth.append(self.headers.get("Authorization", ""))
        if st.require_auth and self.headers.get("Authorization") != st.require_auth:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="127.0.0.1"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        root = etree.fromstring(body)
        op = etree.QName(root.find("s:Body", NS)[0]).localname
        with st.lock:
            st.requests.append(op)
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            return self._reply(500, _error(op, "ErrorInvalidRequest", f"stand-in does not answer {op}"))
        handler(root)

    def op_GetFolder(self, root):
        ids = [e.get("Id") for e in root.iterfind(".//t:DistinguishedFolderId", NS)]
        ids += [e.get("Id")[2:] for e in root.iterfind(".//m:FolderIds/t:FolderId", NS)]
        body = "".join(_ok("GetFolder", f"<m:Folders>{_folder(i)}</m:Folders>")[len(_HEAD):].split("<m:ResponseMessages>")[1].split("</m:ResponseMessages>")[0] for i in ids)
        self._reply(200, f"{_HEAD}<m:GetFolderResponse><m:ResponseMessages>{body}</m:ResponseMessages></m:GetFolderResponse>{_TAIL}")

    def op_CreateItem(self, root):
        st = self.state
        with st.lock:
            fault = st.faults.pop(0) if st.faults else ""
        if fault == "busy":
            return self._reply(500, BUSY)
        if fault == "invalid_recipient":
            return self._reply(200, _error("CreateItem", "ErrorInvalidRecipients",
                                           "At least one recipient isn't valid."))
        if st.delay:
            time.sleep(st.delay)
        mime = base64.b64decode(root.find(".//t:Message/t:MimeContent", NS).text)
        mid = email.message_from_bytes(mime)["Message-ID"]
        with st.lock:
            st.sent.append({"message_id": mid, "mime": mime, "visible_at": time.monotonic() + st.visible_after})
        if fault == "cut_after_send":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self._reply(200, _ok("CreateItem", "<m:Items/>"))

    def op_FindItem(self, root):
        st = self.state
        wanted = None
        for c in root.iterfind(".//t:IsEqualTo", NS):
            uri = c.find("t:FieldURI", NS)
            if uri is not None and uri.get("FieldURI") == "message:InternetMessageId":
                wanted = c.find("t:FieldURIOrConstant/t:Constant", NS).get("Value")
        now = time.monotonic()
        with st.lock:
            hits = [m for m in st.sent if m["visible_at"] <= now and (wanted is None or m["message_id"] == wanted)]
        items = "".join(f'<t:Message><t:ItemId Id="I-{uuid.uuid4().hex}" ChangeKey="CK"/>'
                        f'<t:InternetMessageId>{m["message_id"].replace("<", "&lt;").replace(">", "&gt;")}</t:InternetMessageId></t:Message>'
                        for m in hits)
        inner = (f'<m:RootFolder IndexedPagingOffset="{len(hits)}" TotalItemsInView="{len(hits)}" '
                 f'IncludesLastItemInRange="true"><t:Items>{items}</t:Items></m:RootFolder>')
        self._reply(200, _ok("FindItem", inner))


class EwsStandIn(HttpStandIn):
    """Start with `with EwsStandIn() as ews:`; ews.url is the endpoint, ews.state the mailbox."""

    def __init__(self, state: EwsState | None = None):
        self.state = state or EwsState()
        super().__init__(type("Handler", (_Handler,), {"state": self.state}))
        self.url = f"http://127.0.0.1:{self.server.server_port}/EWS/Exchange.asmx"
