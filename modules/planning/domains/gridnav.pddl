; Grid navigation for the built-in maze (and any grid world with the same facts).
; The problem is built from what the agent knows: every adjacent pair of cells is assumed open
; unless it has been seen blocked (optimistic planning), so the agent plans, moves, discovers
; walls and replans.
(define (domain grid-nav)
  (:requirements :strips :typing)
  (:types cell)
  (:predicates
    (at ?c - cell)
    (open ?from ?to - cell))
  (:action move
    :parameters (?from ?to - cell)
    :precondition (and (at ?from) (open ?from ?to))
    :effect (and (not (at ?from)) (at ?to))))
