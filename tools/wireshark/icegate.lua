-- icegate.lua: a Wireshark dissector for the icegate wire protocol, version 1.
--
-- Inside the TLS session between a node and the gateway every frame is a
-- 4-byte big-endian length, then exactly that many bytes of one serialized
-- `icegate.v1.Frame` (proto/README.md, "Framing"). This dissector reassembles
-- frames across TLS records and TCP segments, shows each frame's length,
-- direction and type in the tree and the Info column, and hands the protobuf
-- bytes to Wireshark's own Protobuf dissector as `icegate.v1.Frame`, which
-- decodes every field by name from proto/icegate/v1/icegate.proto.
--
-- What Wireshark needs (tools/wireshark/README.md has the GUI steps):
--   * this script:  tshark -X lua_script:tools/wireshark/icegate.lua, or a copy
--     in the personal Lua plugins folder (Help > About Wireshark > Folders);
--   * the .proto files: the Protobuf preference "Protobuf search paths" must
--     list the repository's proto/ directory (the UAT protobuf_search_paths);
--   * the TLS keys: SSLKEYLOGFILE=keys.log when running `icegate serve` and
--     `icegate node`, and the TLS preference "(Pre)-Master-Secret log filename"
--     (tls.keylog_file) set to that file;
--   * the port: the preference icegate.port (default 7443, the gateway's
--     default --listen port). Both TLS on that TCP port and icegate inside
--     that TLS are registered from it.
--
-- Written for Wireshark 4.0 (Debian 12) and later.

-- Loaded twice (a copy in the plugins folder and -X lua_script: as well)?
-- A second Proto("icegate", ...) would be an error; keep the first. (Each
-- script runs in an environment of its own, so the flag is set in _G.)
if rawget(_G, "icegate_wire_dissector_loaded") then
  io.stderr:write("icegate.lua: the icegate dissector is already loaded; ignoring this copy\n")
  return
end
_G.icegate_wire_dissector_loaded = true

local default_port = 7443
local default_max_frame_bytes = 1048576 -- wire::default_max_frame_bytes
local prefix_bytes = 4

local icegate = Proto("icegate", "icegate wire protocol")

-- Frame.body's oneof, by field number (proto/icegate/v1/icegate.proto).
local body_names = {
  [1] = "Hello",
  [2] = "Welcome",
  [3] = "Submit",
  [4] = "Ack",
  [5] = "Deliver",
  [6] = "Receipt",
  [7] = "Error",
  [8] = "Heartbeat",
  [9] = "ReviewRequest",
  [10] = "ReviewDecision",
  [11] = "Trigger",
  [12] = "Forward", -- gateway -> peer gateway (the peer connection is not built yet)
}

local f_length = ProtoField.uint32("icegate.length", "Length", base.DEC, nil, nil,
  "bytes of the serialized icegate.v1.Frame that follow the 4-byte prefix")
local f_type = ProtoField.string("icegate.type", "Frame type", base.ASCII,
  "the body set in Frame's oneof: Hello, Welcome, Submit, Ack, Deliver, ...")
local f_field = ProtoField.uint32("icegate.body_field", "Body field number", base.DEC)
local f_direction = ProtoField.string("icegate.direction", "Direction", base.ASCII,
  "node -> gateway or gateway -> node, from the icegate.port preference")
local f_frame = ProtoField.bytes("icegate.frame", "Frame bytes")
local f_unread = ProtoField.bytes("icegate.unread", "Bytes after a refused prefix", base.NONE,
  "the gateway does not read past a zero or too-large length prefix")
icegate.fields = { f_length, f_type, f_field, f_direction, f_frame, f_unread }

local e_too_large = ProtoExpert.new("icegate.too_large", "Length above the frame limit",
  expert.group.MALFORMED, expert.severity.ERROR)
local e_zero = ProtoExpert.new("icegate.zero_length", "Zero-length frame",
  expert.group.MALFORMED, expert.severity.ERROR)
local e_not_frame = ProtoExpert.new("icegate.not_a_frame", "Bytes that do not start a Frame",
  expert.group.MALFORMED, expert.severity.ERROR)
local e_no_protobuf = ProtoExpert.new("icegate.no_protobuf", "Protobuf dissector unavailable",
  expert.group.UNDECODED, expert.severity.WARN)
icegate.experts = { e_too_large, e_zero, e_not_frame, e_no_protobuf }

icegate.prefs.port = Pref.uint("Gateway TLS port", default_port,
  "TCP port of the gateway (icegate serve --listen). TLS on this port is decoded, "
  .. "and the application data inside it as icegate frames.")
icegate.prefs.max_frame_bytes = Pref.uint("Maximum frame size", default_max_frame_bytes,
  "Largest frame length accepted (icegate serve --max-frame-bytes, 1 MiB by default); "
  .. "a larger prefix is flagged, as the gateway refuses it with FRAME_TOO_LARGE.")

local protobuf = nil
do
  local ok, dissector = pcall(Dissector.get, "protobuf")
  if ok then protobuf = dissector end
end

-- Reads the protobuf varint at `offset` of `tvb`; returns its value and size,
-- or nil when it does not end within `limit` bytes (or 5: a field key).
local function read_varint(tvb, offset, limit)
  local value, shift = 0, 0
  for i = 0, math.min(limit, 5) - 1 do
    local byte = tvb(offset + i, 1):uint()
    value = value + (byte % 128) * (2 ^ shift)
    if byte < 128 then return value, i + 1 end
    shift = shift + 7
  end
  return nil
end

local function frame_length_limit()
  local limit = icegate.prefs.max_frame_bytes
  if limit == nil or limit == 0 then return default_max_frame_bytes end
  return limit
end

-- dissect_tcp_pdus: the size of the PDU starting at `offset`. After a zero
-- or too-large prefix the gateway reads nothing more and closes, so the prefix
-- and whatever else this packet holds are one PDU; reassembling a
-- multi-megabyte "frame" would only hide the error.
local function pdu_length(tvb, pinfo, offset)
  local length = tvb(offset, prefix_bytes):uint()
  if length == 0 or length > frame_length_limit() then
    return math.max(prefix_bytes, tvb:len() - offset)
  end
  return prefix_bytes + length
end

-- The Info column lists every frame of a packet ("Submit, Ack") and nothing
-- else: the first frame replaces TLS's "Application Data", and the list is
-- set again after the Protobuf dissector has added its own words. It lives in
-- pinfo.private, which starts empty on every dissection of a packet.
local function info_text(pinfo, text)
  local so_far = pinfo.private["icegate_info"]
  if text ~= nil then
    so_far = so_far and (so_far .. ", " .. text) or text
    pinfo.private["icegate_info"] = so_far
  end
  return so_far or ""
end
local function add_info(pinfo, text)
  pinfo.cols.info:set(info_text(pinfo, text))
end

local function dissect_frame(tvb, pinfo, tree)
  local length = tvb(0, prefix_bytes):uint()
  local item = tree:add(icegate, tvb())
  item:add(f_length, tvb(0, prefix_bytes))

  local port = icegate.prefs.port
  local direction
  if pinfo.dst_port == port then
    direction = "node -> gateway"
  elseif pinfo.src_port == port then
    direction = "gateway -> node"
  end
  if direction then item:add(f_direction, direction):set_generated() end

  pinfo.cols.protocol:set("icegate")

  if length == 0 or length > frame_length_limit() then
    if length == 0 then
      item:add_proto_expert_info(e_zero, "a zero length: the gateway answers MALFORMED_FRAME and closes")
      item:append_text(", zero length")
      add_info(pinfo, "[zero-length frame]")
    else
      item:add_proto_expert_info(e_too_large, string.format(
        "length %d is above the limit of %d bytes: the gateway answers FRAME_TOO_LARGE and closes",
        length, frame_length_limit()))
      item:append_text(string.format(", length %d above the limit", length))
      add_info(pinfo, string.format("[frame too large: %d bytes]", length))
    end
    if tvb:len() > prefix_bytes then
      item:add(f_unread, tvb(prefix_bytes))
    end
    return tvb:len()
  end

  local body = tvb(prefix_bytes, length)
  -- Frame has one field (the oneof): its tag's field number names the type.
  local type_name
  local key, key_size = read_varint(tvb, prefix_bytes, length)
  if key ~= nil then
    local field_number = math.floor(key / 8)
    local wire_type = key % 8
    if wire_type == 2 and field_number > 0 then
      item:add(f_field, body(0, key_size), field_number):set_generated()
      type_name = body_names[field_number] or string.format("unknown body %d", field_number)
    end
  end
  if type_name == nil then
    item:add_proto_expert_info(e_not_frame, "the first tag is not a length-delimited Frame body")
    type_name = "not a Frame"
  end
  item:add(f_type, type_name):set_generated()
  item:append_text(string.format(", %s, %d bytes", type_name, length))
  add_info(pinfo, type_name)

  if protobuf == nil then
    item:add_proto_expert_info(e_no_protobuf, "this Wireshark has no Protobuf dissector")
    item:add(f_frame, body)
    return tvb:len()
  end
  pinfo.private["pb_msg_type"] = "message,icegate.v1.Frame"
  local ok = pcall(Dissector.call, protobuf, body:tvb(), pinfo, item)
  if not ok then item:add(f_frame, body) end
  -- The Protobuf dissector names itself in the Protocol and Info columns.
  pinfo.cols.protocol:set("icegate")
  pinfo.cols.info:set(info_text(pinfo))
  return tvb:len()
end

function icegate.dissector(tvb, pinfo, tree)
  dissect_tcp_pdus(tvb, tree, prefix_bytes, pdu_length, dissect_frame, true)
  return tvb:len()
end

-- TLS on the gateway's TCP port, and icegate inside TLS on that port.
local tls = Dissector.get("tls")
local registered_port = nil
local function register_port()
  local port = icegate.prefs.port
  if port == registered_port then return end
  if registered_port ~= nil and registered_port ~= 0 then
    DissectorTable.get("tls.port"):remove(registered_port, icegate)
    DissectorTable.get("tcp.port"):remove(registered_port, tls)
  end
  if port ~= 0 then
    DissectorTable.get("tls.port"):add(port, icegate)
    DissectorTable.get("tcp.port"):add(port, tls)
  end
  registered_port = port
end

function icegate.prefs_changed()
  register_port()
end

register_port()
-- Analyze > Decode As... (and tshark -d) offers icegate for TLS on any port,
-- and for plain TCP: the framing without TLS, as in hand-made captures.
DissectorTable.get("tls.port"):add_for_decode_as(icegate)
DissectorTable.get("tcp.port"):add_for_decode_as(icegate)
