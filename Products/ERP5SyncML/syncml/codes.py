"""SyncML alert and status codes, and what each sync mode means.

Codes follow the OMA SyncML Representation Protocol 1.2 and the DS
Protocol (sync modes 200-210).
"""
import enum

#: The two roles of a SyncML DS session.
CLIENT = 'CLIENT'
SERVER = 'SERVER'
ROLES = (CLIENT, SERVER)


class _DescribedIntEnum(enum.IntEnum):
    """IntEnum whose members carry a human readable description."""

    def __new__(cls, value, description):
        member = int.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    def __str__(self):
        return '%d %s' % (self.value, self.description)


class AlertCode(_DescribedIntEnum):
    DISPLAY = 100, 'display'
    TWO_WAY = 200, 'two-way sync'
    SLOW = 201, 'slow sync'
    ONE_WAY_FROM_CLIENT = 202, 'one-way sync from client'
    REFRESH_FROM_CLIENT = 203, 'refresh sync from client'
    ONE_WAY_FROM_SERVER = 204, 'one-way sync from server'
    REFRESH_FROM_SERVER = 205, 'refresh sync from server'
    TWO_WAY_BY_SERVER = 206, 'two-way sync alerted by server'
    ONE_WAY_FROM_CLIENT_BY_SERVER = 207, 'one-way sync from client alerted by server'
    REFRESH_FROM_CLIENT_BY_SERVER = 208, 'refresh sync from client alerted by server'
    ONE_WAY_FROM_SERVER_BY_SERVER = 209, 'one-way sync from server alerted by server'
    REFRESH_FROM_SERVER_BY_SERVER = 210, 'refresh sync from server alerted by server'
    RESULT_ALERT = 221, 'result alert'
    NEXT_MESSAGE = 222, 'next message'
    NO_END_OF_DATA = 223, 'no end of data'
    SUSPEND = 224, 'suspend'
    RESUME = 225, 'resume'


class StatusCode(_DescribedIntEnum):
    IN_PROGRESS = 101, 'in progress'
    OK = 200, 'OK'
    ITEM_ADDED = 201, 'item added'
    ACCEPTED = 202, 'accepted for processing'
    NON_AUTHORITATIVE = 203, 'non-authoritative response'
    NO_CONTENT = 204, 'no content'
    RESET_CONTENT = 205, 'reset content'
    PARTIAL_CONTENT = 206, 'partial content'
    CONFLICT_MERGED = 207, 'conflict resolved with merge'
    CONFLICT_CLIENT_WON = 208, "conflict resolved with client's command winning"
    CONFLICT_DUPLICATED = 209, 'conflict resolved with duplicate'
    DELETE_WITHOUT_ARCHIVE = 210, 'delete without archive'
    ITEM_NOT_DELETED = 211, 'item not deleted'
    AUTH_ACCEPTED = 212, 'authentication accepted'
    CHUNK_ACCEPTED = 213, 'chunked item accepted and buffered'
    CANCELLED = 214, 'operation cancelled, no more commands processed'
    NOT_EXECUTED = 215, 'not executed'
    ATOMIC_ROLLBACK_OK = 216, 'atomic roll back OK'
    MULTIPLE_CHOICES = 300, 'multiple choices'
    MOVED_PERMANENTLY = 301, 'moved permanently'
    FOUND = 302, 'found'
    SEE_OTHER = 303, 'see other'
    NOT_MODIFIED = 304, 'not modified'
    USE_PROXY = 305, 'use proxy'
    BAD_REQUEST = 400, 'bad request'
    INVALID_CREDENTIALS = 401, 'invalid credentials'
    PAYMENT_REQUIRED = 402, 'payment required'
    FORBIDDEN = 403, 'forbidden'
    NOT_FOUND = 404, 'not found'
    COMMAND_NOT_ALLOWED = 405, 'command not allowed'
    OPTIONAL_FEATURE_NOT_SUPPORTED = 406, 'optional feature not supported'
    MISSING_CREDENTIALS = 407, 'missing credentials'
    REQUEST_TIMEOUT = 408, 'request timeout'
    CONFLICT = 409, 'update conflict'
    GONE = 410, 'gone'
    SIZE_REQUIRED = 411, 'size required'
    INCOMPLETE_COMMAND = 412, 'incomplete command'
    REQUEST_TOO_LARGE = 413, 'request entity too large'
    URI_TOO_LONG = 414, 'URI too long'
    UNSUPPORTED_MEDIA_TYPE = 415, 'unsupported media type or format'
    REQUESTED_SIZE_TOO_BIG = 416, 'requested size too big'
    RETRY_LATER = 417, 'retry later'
    ALREADY_EXISTS = 418, 'already exists'
    CONFLICT_SERVER_WON = 419, 'conflict resolved with server data'
    DEVICE_FULL = 420, 'device full'
    UNKNOWN_SEARCH_GRAMMAR = 421, 'unknown search grammar'
    BAD_CGI_SCRIPT = 422, 'bad CGI script'
    SOFT_DELETE_CONFLICT = 423, 'soft-delete conflict'
    SIZE_MISMATCH = 424, 'size mismatch'
    PERMISSION_DENIED = 425, 'permission denied'
    PARTIAL_ITEM_NOT_ACCEPTED = 426, 'partial item not accepted'
    ITEM_NOT_EMPTY = 427, 'item not empty'
    MOVE_FAILED = 428, 'move failed'
    COMMAND_FAILED = 500, 'command failed'
    NOT_IMPLEMENTED = 501, 'command not implemented'
    BAD_GATEWAY = 502, 'bad gateway'
    SERVICE_UNAVAILABLE = 503, 'service unavailable'
    GATEWAY_TIMEOUT = 504, 'gateway timeout'
    DTD_VERSION_NOT_SUPPORTED = 505, 'DTD version not supported'
    PROCESSING_ERROR = 506, 'processing error'
    ATOMIC_FAILED = 507, 'atomic failed'
    REFRESH_REQUIRED = 508, 'refresh required'
    DATASTORE_FAILURE = 510, 'data store failure'
    SERVER_FAILURE = 511, 'server failure'
    SYNC_FAILED = 512, 'synchronization failed'
    PROTOCOL_VERSION_NOT_SUPPORTED = 513, 'protocol version not supported'
    OPERATION_CANCELLED = 514, 'operation cancelled'
    ATOMIC_ROLLBACK_FAILED = 516, 'atomic roll back failed'
    ATOMIC_RESPONSE_TOO_LARGE = 517, 'atomic response too large to fit'


def describe(code):
    """Return 'NNN description' for a status or alert code (any int)."""
    code = int(code)
    for enum_type in (StatusCode, AlertCode):
        try:
            return str(enum_type(code))
        except ValueError:
            pass
    return '%d %s' % (code, _CLASS_NAMES.get(code // 100, 'unknown code'))


_CLASS_NAMES = {1: 'informational', 2: 'success', 3: 'redirection',
                4: 'originator exception', 5: 'recipient exception'}


def is_success(code):
    """True for the 2xx status codes (the command was carried out)."""
    return 200 <= int(code) < 300


def is_error(code):
    """True for the 4xx and 5xx status codes."""
    return 400 <= int(code) < 600


# -- sync modes --------------------------------------------------------------

#: The modes a client may request in its initialization Alert.
CLIENT_MODES = frozenset(AlertCode(code) for code in range(200, 206))
#: The server-alerted modes (206-210), each mapped to the mode it asks for.
SERVER_ALERTED = {
    AlertCode.TWO_WAY_BY_SERVER: AlertCode.TWO_WAY,
    AlertCode.ONE_WAY_FROM_CLIENT_BY_SERVER: AlertCode.ONE_WAY_FROM_CLIENT,
    AlertCode.REFRESH_FROM_CLIENT_BY_SERVER: AlertCode.REFRESH_FROM_CLIENT,
    AlertCode.ONE_WAY_FROM_SERVER_BY_SERVER: AlertCode.ONE_WAY_FROM_SERVER,
    AlertCode.REFRESH_FROM_SERVER_BY_SERVER: AlertCode.REFRESH_FROM_SERVER,
}
SYNC_MODES = CLIENT_MODES | frozenset(SERVER_ALERTED)

#: who sends data in each mode: the one table of it
_SENDERS = {
    AlertCode.TWO_WAY: {CLIENT, SERVER},
    AlertCode.SLOW: {CLIENT, SERVER},
    AlertCode.ONE_WAY_FROM_CLIENT: {CLIENT},
    AlertCode.REFRESH_FROM_CLIENT: {CLIENT},
    AlertCode.ONE_WAY_FROM_SERVER: {SERVER},
    AlertCode.REFRESH_FROM_SERVER: {SERVER},
}
#: the modes that send every item, not just the changes
_FULL = (AlertCode.SLOW, AlertCode.REFRESH_FROM_CLIENT,
         AlertCode.REFRESH_FROM_SERVER)
_REFRESH = (AlertCode.REFRESH_FROM_CLIENT, AlertCode.REFRESH_FROM_SERVER)


def base_mode(mode):
    """Map a server-alerted mode (206-210) to its plain mode (200-205)."""
    mode = int(mode)
    mode = SERVER_ALERTED.get(mode, mode)
    if mode not in CLIENT_MODES:
        raise ValueError('%r is not a sync mode (200-210)' % mode)
    return AlertCode(mode)


def sends_data(mode, role):
    """True when ``role`` (CLIENT or SERVER) sends its changes in ``mode``."""
    if role not in ROLES:
        raise ValueError('unknown role %r' % (role,))
    return role in _SENDERS[base_mode(mode)]


def requires_slow(mode):
    """True when the mode sends every item, not just the changes.

    Slow and refresh syncs ignore the anchors; a slow sync compares all
    items, a refresh replaces the receiver's data.
    """
    return base_mode(mode) in _FULL


def is_refresh(mode):
    """True when the receiving side must replace all its data (203, 205)."""
    return base_mode(mode) in _REFRESH
