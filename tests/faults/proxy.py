"""A fault-injecting HTTP proxy on 127.0.0.1 for tests.

One thread runs an asyncio loop. Each client connection carries HTTP
requests framed by Content-Length; for the n-th request (1-based, over the
proxy's life) ``plan(n)`` returns an action:

    'forward'        pass it on, relay the answer
    'drop_request'   close the client connection, the server never sees it
    'drop_response'  the server handles it, the client gets no answer
    'duplicate'      the server gets it twice, the client the first answer
    'delay:S'        wait S seconds, then forward
    'reorder'        hold it until the next request has been forwarded
                     and answered (or ``hold_limit`` s), then forward it

``hooks[(n, 'request')]`` runs before request n is forwarded, and
``hooks[(n, 'response')]`` after its answer came back (e.g. kill a
process there). The proxy stops by itself after ``lifetime`` seconds or
``max_requests`` requests.
"""
import asyncio
import threading

MAX_BODY = 64 * 1024 * 1024


async def _read_message(reader, is_response=False):
    """One HTTP message (head + Content-Length body) as bytes, or None."""
    try:
        head = await reader.readuntil(b'\r\n\r\n')
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError,
            ConnectionError):
        return None
    length = 0
    for line in head.split(b'\r\n')[1:]:
        name, _, value = line.partition(b':')
        if name.strip().lower() == b'content-length':
            length = int(value.strip())
    if length > MAX_BODY:
        return None
    if is_response and length == 0 and b'content-length' not in head.lower():
        body = await reader.read()   # read until close
    else:
        try:
            body = await reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
    return head + body


def _close_after(data):
    # One request per upstream connection keeps framing simple.
    head, sep, body = data.partition(b'\r\n\r\n')
    lines = [line for line in head.split(b'\r\n')
             if not line.lower().startswith(b'connection:')]
    return b'\r\n'.join(lines + [b'Connection: close']) + sep + body


class FaultProxy:
    """Listen on 127.0.0.1:<port>, forward to ``target`` (host, port)."""

    def __init__(self, target, plan=None, hooks=None, lifetime=600,
                 max_requests=100000, hold_limit=5.0, keep_bodies=False):
        self.target = target
        self.plan = plan or (lambda n: 'forward')
        self.hooks = dict(hooks or {})
        self.lifetime = lifetime
        self.max_requests = max_requests
        self.hold_limit = hold_limit
        self.count = 0
        self.log = []            # (n, action, first request line)
        self.keep_bodies = keep_bodies
        self.bodies = []         # request bodies, when keep_bodies
        self.port = None
        self._loop = None
        self._ready = threading.Event()
        self._held = None        # asyncio.Event of a reordered request
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='fault proxy')

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    def start(self):
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError('proxy did not start')
        return self

    def stop(self):
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _run(self):
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    async def _main(self):
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._client, '127.0.0.1', 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await asyncio.wait_for(self._stopping.wait(), self.lifetime)
        except asyncio.TimeoutError:
            pass
        server.close()
        await server.wait_closed()

    async def _upstream(self, request):
        reader, writer = await asyncio.open_connection(*self.target)
        try:
            writer.write(_close_after(request))
            await writer.drain()
            return await _read_message(reader, is_response=True)
        finally:
            writer.close()

    async def _hook(self, n, phase):
        hook = self.hooks.get((n, phase))
        if hook is not None:
            await asyncio.get_running_loop().run_in_executor(None, hook)

    async def _client(self, reader, writer):
        try:
            while not self._stopping.is_set():
                request = await _read_message(reader)
                if request is None or self.count >= self.max_requests:
                    return
                self.count += 1
                n = self.count
                action = self.plan(n)
                self.log.append((n, action, request.split(b'\r\n', 1)[0]))
                if self.keep_bodies:
                    self.bodies.append(request.partition(b'\r\n\r\n')[2])
                if action == 'drop_request':
                    return
                if action.startswith('delay:'):
                    await asyncio.sleep(float(action.split(':', 1)[1]))
                if action == 'reorder':
                    self._held = held = asyncio.Event()
                    try:
                        await asyncio.wait_for(held.wait(), self.hold_limit)
                    except asyncio.TimeoutError:
                        pass
                held, self._held = (self._held, None) if action != 'reorder' \
                    else (None, self._held)
                await self._hook(n, 'request')
                try:
                    response = await self._upstream(request)
                    if action == 'duplicate':
                        await self._upstream(request)
                except OSError:
                    return
                finally:
                    if held is not None:
                        held.set()   # we went first: the held one follows
                await self._hook(n, 'response')
                if response is None or action == 'drop_response':
                    return
                writer.write(response)
                await writer.drain()
                return   # upstream closed after one answer: so do we
        finally:
            writer.close()
