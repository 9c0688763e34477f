"""Groups, supergroups and channels: who is in them and with what rights, forum topics, and
what Telegram refuses a bot there."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram.constants import ChatID, ChatMemberStatus, ChatType

from emulator.errors import ApiError

CHAT_KINDS = (ChatType.GROUP, ChatType.SUPERGROUP, ChatType.CHANNEL)
STATUSES = (
    ChatMemberStatus.OWNER,
    ChatMemberStatus.ADMINISTRATOR,
    ChatMemberStatus.MEMBER,
    ChatMemberStatus.RESTRICTED,
    ChatMemberStatus.LEFT,
    ChatMemberStatus.BANNED,
)
_MANAGERS = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)
GENERAL_TOPIC = 1  # a forum's General topic: always there
# Who an anonymous group administrator's messages come from.
ANONYMOUS_ADMIN: dict[str, Any] = {
    "id": int(ChatID.ANONYMOUS_ADMIN),
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
# The Bot API's ChatFullInfo fields that every chat has.
FULL_INFO: dict[str, Any] = {
    "accent_color_id": 0,
    "max_reaction_count": 11,
    "accepted_gift_types": {
        "unlimited_gifts": False,
        "limited_gifts": False,
        "unique_gifts": False,
        "premium_subscription": False,
        "gifts_from_channels": False,
    },
}
_RESTRICTED: dict[str, Any] = {
    "is_member": True,
    "until_date": 0,
    **dict.fromkeys(
        (
            "can_change_info",
            "can_invite_users",
            "can_pin_messages",
            "can_send_messages",
            "can_send_polls",
            "can_send_other_messages",
            "can_add_web_page_previews",
            "can_manage_topics",
            "can_send_audios",
            "can_send_documents",
            "can_send_photos",
            "can_send_videos",
            "can_send_video_notes",
            "can_send_voice_notes",
            "can_edit_tag",
            "can_react_to_messages",
        ),
        False,
    ),
}


@dataclass
class Member:
    """A user's standing in a group or channel."""

    status: str
    is_anonymous: bool = False
    can_post_messages: bool = False
    can_manage_topics: bool = False

    @property
    def manages_topics(self) -> bool:
        return self.status == ChatMemberStatus.OWNER or (
            self.status == ChatMemberStatus.ADMINISTRATOR and self.can_manage_topics
        )


@dataclass
class GroupChat:
    """A group, supergroup or channel the emulator knows (private chats need no record)."""

    id: int
    type: str
    title: str
    username: str | None = None
    is_forum: bool = False
    topics: set[int] = field(default_factory=set)
    topic_names: dict[int, str] = field(default_factory=dict)
    closed_topics: set[int] = field(default_factory=set)  # General (1) may be closed too
    deleted_topics: set[int] = field(default_factory=set)
    members: dict[int, Member] = field(default_factory=dict)
    migrated_to: int | None = None  # set when a group became this supergroup

    def as_chat(self) -> dict[str, Any]:
        """The Bot API Chat object."""
        chat: dict[str, Any] = {"id": self.id, "type": self.type, "title": self.title}
        if self.username:
            chat["username"] = self.username
        if self.is_forum:
            chat["is_forum"] = True
        return chat

    def member(self, user_id: int) -> Member:
        return self.members.get(user_id) or Member(ChatMemberStatus.LEFT)

    def chat_member(self, user_id: int, user: dict[str, Any]) -> dict[str, Any]:
        """The Bot API ChatMember object of ``user`` here."""
        member = self.member(user_id)
        result: dict[str, Any] = {"status": member.status, "user": user}
        if member.status == ChatMemberStatus.OWNER:
            result["is_anonymous"] = member.is_anonymous
        elif member.status == ChatMemberStatus.ADMINISTRATOR:
            result |= self._admin_rights(member)
        elif member.status == ChatMemberStatus.RESTRICTED:
            result |= _RESTRICTED
        elif member.status == ChatMemberStatus.BANNED:
            result["until_date"] = 0  # forever
        return result

    def _admin_rights(self, member: Member) -> dict[str, Any]:
        rights: dict[str, Any] = {
            "can_be_edited": False,
            "is_anonymous": member.is_anonymous,
            "can_manage_chat": True,
            "can_delete_messages": True,
            "can_manage_video_chats": True,
            "can_restrict_members": True,
            "can_promote_members": False,
            "can_change_info": True,
            "can_invite_users": True,
            "can_post_stories": False,
            "can_edit_stories": False,
            "can_delete_stories": False,
        }
        if self.type == ChatType.CHANNEL:
            rights["can_post_messages"] = member.can_post_messages
            rights["can_edit_messages"] = member.can_post_messages
        else:
            rights["can_pin_messages"] = True
        if self.is_forum:
            rights["can_manage_topics"] = member.can_manage_topics
        return rights

    def admin_other_than(self, bot_id: int) -> int:
        """The first creator or administrator other than the bot; else user 1."""
        for user_id, member in self.members.items():
            if member.status in _MANAGERS and user_id != bot_id:
                return user_id
        return 1

    def refuse_users_writing(self) -> None:
        if self.type == ChatType.CHANNEL:
            raise ApiError(400, f"chat {self.id} is a channel: users do not write in it")

    # -------------------------------------------------------------- forum topics

    def _forum(self) -> None:
        if not self.is_forum:
            raise ApiError(400, "Bad Request: the chat is not a forum")

    def create_topic(self, thread_id: int, name: str) -> dict[str, Any]:
        self._forum()
        if thread_id == GENERAL_TOPIC or thread_id in self.topics:
            raise ApiError(400, f"topic {thread_id} already exists")
        self.topics.add(thread_id)
        self.topic_names[thread_id] = name
        return {"message_thread_id": thread_id, "name": name}

    def delete_topic(self, thread_id: int) -> dict[str, Any]:
        """A deleted topic answers TOPIC_DELETED from then on (deleteForumTopic)."""
        self._forum()
        if thread_id not in self.topics:
            raise ApiError(400, "Bad Request: message thread not found")
        self.topics.discard(thread_id)
        self.closed_topics.discard(thread_id)
        self.deleted_topics.add(thread_id)
        return {"message_thread_id": thread_id, "name": self.topic_names.pop(thread_id, "")}

    def close_topic(self, thread_id: int, closed: bool) -> dict[str, Any]:
        """closeForumTopic (closeGeneralForumTopic for 1) or, ``closed`` False, reopen:
        only administrators who may manage topics post in a closed one."""
        self._forum()
        if thread_id != GENERAL_TOPIC and thread_id not in self.topics:
            raise ApiError(400, "Bad Request: message thread not found")
        if (thread_id in self.closed_topics) == closed:
            raise ApiError(400, "Bad Request: TOPIC_NOT_MODIFIED")
        if closed:
            self.closed_topics.add(thread_id)
        else:
            self.closed_topics.discard(thread_id)
        return {"message_thread_id": thread_id, "closed": closed}

    # -------------------------------------------------------------- the bot here

    def check_bot_may_send(
        self, bot_id: int, params: dict[str, Any], what: str, *, posting: bool
    ) -> int | None:
        """Refuse what Telegram refuses the bot here; the topic the message goes to, if
        any. An edit (``posting`` False) is not checked against the topic: the message is
        already there."""
        if self.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=self.migrated_to,
            )
        member = self.member(bot_id)
        if member.status == ChatMemberStatus.BANNED:
            raise ApiError(403, f"Forbidden: bot was kicked from the {self.type} chat")
        if member.status == ChatMemberStatus.LEFT:
            raise ApiError(403, f"Forbidden: bot is not a member of the {self.type} chat")
        if self.type == ChatType.CHANNEL and not (
            member.status == ChatMemberStatus.OWNER
            or (member.status == ChatMemberStatus.ADMINISTRATOR and member.can_post_messages)
        ):
            raise ApiError(400, "Bad Request: need administrator rights in the channel chat")
        if member.status == ChatMemberStatus.RESTRICTED:
            raise ApiError(400, f"Bad Request: not enough rights to send {what} to the chat")
        raw = params.get("message_thread_id")
        thread_id = None if raw is None or raw == "" else int(raw)
        if self.is_forum and posting:
            self._check_topic(member, GENERAL_TOPIC if thread_id is None else thread_id)
        return thread_id

    def _check_topic(self, bot: Member, topic: int) -> None:
        """Telegram's answers for a topic the bot may not post in."""
        if topic in self.deleted_topics:
            raise ApiError(400, "Bad Request: TOPIC_DELETED")
        if topic != GENERAL_TOPIC and topic not in self.topics:
            raise ApiError(400, "Bad Request: message thread not found")
        if topic in self.closed_topics and not bot.manages_topics:
            raise ApiError(400, "Bad Request: TOPIC_CLOSED")
