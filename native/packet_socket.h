// AF_PACKET sockets for PPPoE (packet_socket.cc): registered into the addon's exports by Init().
#pragma once

#include <napi.h>

namespace l2tpkit {

// Adds openPacket() and the FramePort class to `exports`.
void RegisterPacketSocket(Napi::Env env, Napi::Object exports);

}  // namespace l2tpkit
