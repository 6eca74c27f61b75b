"""``files.*``, the v2 upload flow: ``files.getUploadURLExternal``, the upload itself to the
URL it returns, ``files.completeUploadExternal`` to share the file in channels (with a
message, in a thread if asked), and ``files.info``; plus the download of ``url_private``.
Strict as Slack is: v1 ``files.upload`` answers ``method_deprecated``, an upload URL works
once, a file must be uploaded before it is completed and is completed only once, sharing
needs the bot in the channel, and a download without the bot token is redirected to the
sign-in page.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from .core import ApiError, Channel, EmulatorBase, FileRecord, _parse_multipart


class FilesApi(EmulatorBase):
    """``files.*`` Web API methods and the upload/download endpoints."""

    # ------------------------------------------------------------------ Web API: files.*

    def _files_get_upload_url(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        filename = params.get("filename")
        length = params.get("length")
        if not filename or length in (None, ""):
            raise ApiError("invalid_arguments")
        try:
            n = int(length)
        except (TypeError, ValueError):
            raise ApiError("invalid_arguments") from None
        if n <= 0:
            raise ApiError("invalid_arguments")
        fid = self._new_id("F", 10)
        self._files[fid] = FileRecord(
            id=fid, name=str(filename), length=n, title=str(filename), alt_txt=params.get("alt_txt")
        )
        url_token = secrets.token_urlsafe(24)
        self._upload_tokens[url_token] = fid
        return {"upload_url": f"{self.base_url}upload/v1/{url_token}", "file_id": fid}

    def _file_object(self, rec: FileRecord) -> dict[str, Any]:
        ext = rec.name.rsplit(".", 1)[-1].lower() if "." in rec.name else "binary"
        mimetype = {
            "txt": "text/plain",
            "csv": "text/csv",
            "json": "application/json",
            "png": "image/png",
            "jpg": "image/jpeg",
            "jpeg": "image/jpeg",
            "pdf": "application/pdf",
        }.get(ext, "application/octet-stream")
        url = f"{self.base_url}files-pri/{self.ctx.team_id}-{rec.id}/{rec.name}"
        return {
            "id": rec.id,
            "created": rec.created,
            "timestamp": rec.created,
            "name": rec.name,
            "title": rec.title,
            "mimetype": mimetype,
            "filetype": ext,
            "pretty_type": ext.upper(),
            "user": self.ctx.bot_user_id,
            "user_team": self.ctx.team_id,
            "editable": False,
            "size": len(rec.content or b""),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": bool(rec.channels),
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": url,
            "url_private_download": url + "?download=1",
            "permalink": f"https://{self.ctx.team_domain}.slack.com/files/{self.ctx.bot_user_id}/{rec.id}/{rec.name}",
            "channels": [c for c in rec.channels if c.startswith("C")],
            "groups": [c for c in rec.channels if c.startswith("G")],
            "ims": [c for c in rec.channels if c.startswith("D")],
            "comments_count": 0,
            "shares": {},
        }

    def _files_complete_upload(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        files = self._json_param(params, "files")
        if not isinstance(files, list) or not files:
            raise ApiError("invalid_arguments")
        records = [self._uploaded_file(f) for f in files]
        targets: list[Channel] = []
        if params.get("channel_id"):
            targets.append(self._api_channel(params["channel_id"], need_member=True))
        for cid in [c for c in str(params.get("channels") or "").split(",") if c]:
            targets.append(self._api_channel(cid, need_member=True))
        thread_ts = params.get("thread_ts")
        if thread_ts and len(targets) != 1:
            raise ApiError("invalid_arguments")
        for rec, title in records:
            rec.title = title
            rec.completed = True
            rec.channels.extend(ch.id for ch in targets)
        uploaded = [rec for rec, _ in records]
        comment = str(params.get("initial_comment") or "")
        for ch in targets:
            self._share_uploads(ch, uploaded, comment, thread_ts)
        return {"files": [{"id": r.id, "title": r.title} for r in uploaded]}

    def _uploaded_file(self, entry: Any) -> tuple[FileRecord, str]:
        """The record and title for one ``files`` entry: uploaded, and not completed before."""
        if not isinstance(entry, dict) or entry.get("id") not in self._files:
            raise ApiError("file_not_found")
        rec = self._files[entry["id"]]
        if not rec.uploaded or rec.completed:
            raise ApiError("file_not_found")
        return rec, entry.get("title") or rec.name

    def _share_uploads(self, ch: Channel, records: list[FileRecord], text: str, thread_ts: Any) -> None:
        """Post the message that shares completed uploads in ``ch`` (in a thread if given)."""
        msg = self._bot_message(text, self._next_ts())
        msg.update(
            {"files": [self._file_object(r) for r in records], "upload": True, "display_as_bot": False}
        )
        if thread_ts:
            parent = self._find_message(ch, thread_ts)
            if parent is None:
                raise ApiError("thread_not_found")
            msg["thread_ts"] = parent.get("thread_ts", parent["ts"])
            msg["parent_user_id"] = parent.get("user")
        self._store_message(ch, msg)

    def _files_upload_v1(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        raise ApiError("method_deprecated")

    def _files_info(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        rec = self._files.get(str(params.get("file") or ""))
        if rec is None or not rec.completed:
            raise ApiError("file_not_found")
        return {"file": self._file_object(rec), "comments": [], "response_metadata": {"next_cursor": ""}}

    # ------------------------------------------------------------------ HTTP: upload and download

    async def _http_upload(self, request: Request) -> Response:
        raw = await request.body()
        ctype = request.headers.get("content-type", "")
        with self._lock:
            fid = self._upload_tokens.pop(request.path_params["token"], None)
            if fid is None:
                return PlainTextResponse("invalid upload url", status_code=404)
            data = raw
            if "multipart/form-data" in ctype:
                parts = _parse_multipart(raw, ctype)
                data = next((v for v in parts.values() if isinstance(v, bytes)), b"")
            rec = self._files[fid]
            rec.content = data
            rec.uploaded = True
        return PlainTextResponse(f"OK - {len(data)}")

    async def _http_download(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if auth != f"Bearer {self.bot_token}":
            return PlainTextResponse("", status_code=302, headers={"Location": "https://slack.com/signin"})
        fid = request.path_params["team_file"].split("-", 1)[-1]
        rec = self._files.get(fid)
        if rec is None or rec.content is None:
            return PlainTextResponse("not found", status_code=404)
        return Response(rec.content, media_type="application/octet-stream")
