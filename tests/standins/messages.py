"""Realistic outgoing messages for transport tests: text + HTML + an .ics invitation."""

from __future__ import annotations

from datetime import datetime, timezone

from automation.mail.message import Attachment, build_message

ICS = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//ofsted-tracker//test//EN\r\nMETHOD:REQUEST\r\n"
       b"BEGIN:VEVENT\r\nUID:test-1@la.example.org\r\nDTSTAMP:20261116T120500Z\r\n"
       b"DTSTART:20261117T090000Z\r\nDTEND:20261117T093000Z\r\nSUMMARY:Support call\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def messages(n: int, to_domain: str = "school.example.org", purpose: str = "contact_plan"):
    """n distinct messages, each with its own deterministic key and Message-ID."""
    return [build_message(sender="ofsted.support@la.example.org", to=[f"head{i}@{to_domain}"],
                          cc=["sam.imrie@la.example.org"], subject=f"Ofsted inspection: support plan {i}",
                          text=f"Dear head {i},\n.A line starting with a dot.\nThe LA will call you.\n",
                          html=f"<html><body><p>Dear head {i},</p><p>The LA will call you.</p></body></html>",
                          inspection_id=f"INS-{i:04d}", purpose=purpose, version=1,
                          when=datetime(2026, 11, 16, 12, 5, tzinfo=timezone.utc), reason="test",
                          attachments=[Attachment("call.ics", "text/calendar; method=REQUEST", ICS)])
            for i in range(n)]
