; Gripper, the IPC-1998 domain in its typed STRIPS form (rooms, balls, grippers).
; The robot moves between rooms and carries at most one ball in each of its grippers; a problem
; moves every ball from one room to the other. Problems: modules/planning/ipc.py.
(define (domain gripper)
  (:requirements :strips :typing)
  (:types room ball gripper)
  (:predicates
    (at-robby ?r - room)
    (at ?b - ball ?r - room)
    (free ?g - gripper)
    (carry ?b - ball ?g - gripper))
  (:action move
    :parameters (?from ?to - room)
    :precondition (at-robby ?from)
    :effect (and (at-robby ?to) (not (at-robby ?from))))
  (:action pick
    :parameters (?obj - ball ?room - room ?g - gripper)
    :precondition (and (at ?obj ?room) (at-robby ?room) (free ?g))
    :effect (and (carry ?obj ?g) (not (at ?obj ?room)) (not (free ?g))))
  (:action drop
    :parameters (?obj - ball ?room - room ?g - gripper)
    :precondition (and (carry ?obj ?g) (at-robby ?room))
    :effect (and (at ?obj ?room) (free ?g) (not (carry ?obj ?g)))))
